/* The rule editor's check as you type: 300 ms after the last keystroke the expression is sent to
   POST /api/v1/monitoring/rules/check (with the session's CSRF token in X-CSRF-Token) and the answer is
   shown under the textarea: the message with a caret under the position, or the fields the rule reads.
   Plain DOM, no dependencies; the texts come translated from the page's data-*-text attributes. */
(function () {
  "use strict";

  var form = document.getElementById("rule-form");
  var area = document.getElementById("rule-expression");
  var out = document.getElementById("rule-check");
  if (!form || !area || !out || !window.fetch) {
    return;
  }
  var trigger = document.getElementById("rule-trigger");
  var tokenInput = form.querySelector("input[name=csrf_token]");
  var token = tokenInput ? tokenInput.value : "";
  var url = form.getAttribute("data-check-url");
  var timer = null;
  var sequence = 0;

  function text(name) {
    return out.getAttribute("data-" + name + "-text") || "";
  }

  function clear() {
    while (out.firstChild) {
      out.removeChild(out.firstChild);
    }
  }

  function line(className, message) {
    var span = document.createElement("span");
    span.className = className;
    span.textContent = message;
    out.appendChild(span);
    return span;
  }

  // Full-width characters (Chinese in string literals) take two columns in a monospace font.
  function columns(s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) {
      n += s.charCodeAt(i) >= 0x2e80 ? 2 : 1;
    }
    return n;
  }

  // The line of the expression holding a 1-based character position, with a caret under it.
  function caret(expression, position) {
    var index = Math.max(0, Math.min(expression.length, position - 1));
    var start = expression.lastIndexOf("\n", index - 1) + 1;
    var end = expression.indexOf("\n", index);
    if (end < 0) {
      end = expression.length;
    }
    var pre = document.createElement("pre");
    pre.setAttribute("data-testid", "rule-caret");
    pre.appendChild(document.createTextNode(expression.slice(start, end) + "\n"));
    pre.appendChild(document.createTextNode(new Array(columns(expression.slice(start, index)) + 1).join(" ")));
    var mark = document.createElement("span");
    mark.className = "caret";
    mark.textContent = "^";
    pre.appendChild(mark);
    out.appendChild(pre);
  }

  function show(result, expression) {
    clear();
    if (!result.valid) {
      line("invalid", result.message);
      if (typeof result.position === "number") {
        caret(expression, result.position);
      }
      area.setAttribute("aria-invalid", "true");
      return;
    }
    area.removeAttribute("aria-invalid");
    var fields = result.fields || [];
    line("valid", text("valid") + " " + fields.join("、"));
    var event = fields.some(function (f) { return f.indexOf("event_") === 0; });
    var wanted = trigger ? trigger.value : "batch";
    if (wanted === "event" && !event) {
      out.appendChild(document.createElement("br"));
      line("invalid", text("needs-event"));
    } else if (wanted === "batch" && event) {
      out.appendChild(document.createElement("br"));
      line("invalid", text("no-event"));
    }
  }

  function check() {
    var expression = area.value;
    var mine = ++sequence;
    if (!expression.trim()) {
      clear();
      area.removeAttribute("aria-invalid");
      return;
    }
    clear();
    line("muted", text("checking"));
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": token },
      body: JSON.stringify({ expression: expression, trigger: trigger ? trigger.value : "batch" })
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (result) {
        if (mine === sequence) {
          show(result, expression);
        }
      })
      .catch(function () {
        if (mine === sequence) {
          clear();
          line("muted", text("failed"));
        }
      });
  }

  function schedule() {
    if (timer !== null) {
      window.clearTimeout(timer);
    }
    timer = window.setTimeout(check, 300);
  }

  area.addEventListener("input", schedule);
  if (trigger) {
    trigger.addEventListener("change", schedule);
  }
  if (area.value.trim()) {
    schedule();
  }
})();

/* The operator's one-screen monitoring refreshes itself: every 10 seconds it fetches
   /operator/screen.json (same origin, the session cookie) and rebuilds each tile from it with plain DOM
   calls (textContent only: nothing from the server is parsed as HTML). A failed poll leaves the tiles as
   they were and says so under the title. No dependencies; the texts come translated in the JSON. */
(function () {
  "use strict";

  var meta = document.getElementById("screen-meta");
  var screen = document.getElementById("screen");
  if (!meta || !screen || !window.fetch) {
    return;
  }
  var url = meta.getAttribute("data-refresh-url");
  var built = document.getElementById("screen-built");
  var light = document.getElementById("screen-light");
  var polls = document.getElementById("screen-polls");
  var stale = document.getElementById("screen-stale");
  var count = 0;
  var PERIOD_MS = 10000;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function link(href, text) {
    var a = el("a", "", text);
    a.setAttribute("href", href);
    return a;
  }

  function fill(section, tile) {
    while (section.firstChild) {
      section.removeChild(section.firstChild);
    }
    section.className = "tile tile-" + tile.status;
    section.setAttribute("data-status", tile.status);

    var title = el("h2");
    title.appendChild(tile.link ? link(tile.link, tile.title) : document.createTextNode(tile.title));
    section.appendChild(title);

    var figures = el("dl", "tile-figures");
    tile.figures.forEach(function (f) {
      var box = el("div", "figure figure-" + f.status);
      box.appendChild(el("dt", "", f.label));
      box.appendChild(el("dd", "", f.value));
      figures.appendChild(box);
    });
    section.appendChild(figures);

    var reasons = el("ul", "tile-reasons");
    reasons.setAttribute("data-testid", "reasons-" + tile.id);
    tile.reasons.forEach(function (r) {
      reasons.appendChild(el("li", "", r));
    });
    section.appendChild(reasons);

    if (tile.rows.length) {
      var table = el("table", "table tile-table");
      var head = el("thead");
      var headRow = el("tr");
      tile.columns.forEach(function (c) {
        headRow.appendChild(el("th", "", c));
      });
      head.appendChild(headRow);
      table.appendChild(head);
      var body = el("tbody");
      tile.rows.forEach(function (row) {
        var tr = el("tr", "row-" + row.status);
        if (row.reason) {
          tr.setAttribute("title", row.reason);
        }
        row.cells.forEach(function (c, i) {
          var td = el("td");
          if (i === 0 && row.link) {
            td.appendChild(link(row.link, c));
          } else {
            td.textContent = c;
          }
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      table.appendChild(body);
      var scroll = el("div", "tile-body");
      scroll.appendChild(table);
      section.appendChild(scroll);
    }
  }

  function apply(data) {
    data.tiles.forEach(function (tile) {
      var section = screen.querySelector('[data-tile="' + tile.id + '"]');
      if (!section) {
        section = el("section");
        section.setAttribute("data-tile", tile.id);
        section.setAttribute("data-testid", "tile-" + tile.id);
        screen.appendChild(section);
      }
      fill(section, tile);
    });
    built.textContent = data.built_at_local;
    light.className = "screen-light screen-light-" + data.status;
    light.setAttribute("data-status", data.status);
    count += 1;
    polls.textContent = String(count);
    stale.hidden = true;
  }

  function failed() {
    stale.textContent = meta.getAttribute("data-stale-text");
    stale.hidden = false;
  }

  function poll() {
    window
      .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        var type = response.headers.get("content-type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(apply)
      .catch(failed)
      .then(function () {
        window.setTimeout(poll, PERIOD_MS);
      });
  }

  window.setTimeout(poll, PERIOD_MS);
})();

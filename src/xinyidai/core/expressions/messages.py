"""The messages of the expression language: English msgids with ``%(name)s`` placeholders.

Compile-time messages start with the 1-based character position, because the web layer shows only the
translated message. The lead translates them in the zh-CN catalogue.
"""

from __future__ import annotations

from xinyidai.core.i18n import N_

EMPTY = N_("The expression is empty")
TOO_LONG = N_(
    "At character %(position)s: the expression is %(length)s characters long; the limit is %(limit)s"
)
TOO_DEEP = N_("At character %(position)s: the expression is nested too deeply (limit %(limit)s levels)")
UNTERMINATED = N_("At character %(position)s: this quoted text is not closed")
SYNTAX = N_("At character %(position)s: syntax error near “%(token)s”")
MISSING_PAREN = N_("At character %(position)s: a closing parenthesis is missing")
INCOMPLETE = N_("At character %(position)s: something is missing after “%(token)s”")
TOO_MANY_ARGUMENTS = N_("At character %(position)s: too many arguments")
EMPTY_LIST = N_("At character %(position)s: IN needs at least one value")
UNKNOWN_FIELD = N_("At character %(position)s: unknown field '%(name)s'")
UNKNOWN_FIELD_SUGGEST = N_(
    "At character %(position)s: unknown field '%(name)s'; did you mean '%(suggestion)s'?"
)
COMMENT = N_("At character %(position)s: comments are not allowed in expressions")
SEMICOLON = N_("At character %(position)s: only one expression is allowed (no ';')")
SUBQUERY = N_("At character %(position)s: sub-queries are not allowed")
FUNCTION = N_(
    "At character %(position)s: the function %(name)s() is not allowed; the allowed functions are %(allowed)s"
)
AGGREGATE = N_(
    "At character %(position)s: aggregate and window functions such as %(name)s() are not allowed; "
    "an expression looks at one record"
)
CLOCK = N_(
    "At character %(position)s: %(name)s is not allowed because a rule must not depend on when it runs; "
    "use the as_of field instead"
)
TABLE = N_("At character %(position)s: table references are not allowed; write the field name alone")
PARAMETER = N_("At character %(position)s: parameters are not allowed; write the value itself")
CONSTRUCT = N_("At character %(position)s: “%(construct)s” is not allowed in an expression")
IS = N_("At character %(position)s: only IS NULL and IS NOT NULL are allowed")
NEEDS_NUMBER = N_("At character %(position)s: '%(operator)s' needs numbers, but this has type %(actual)s")
DATE_ARITHMETIC = N_(
    "At character %(position)s: dates cannot be added or subtracted; use date_diff('day', a, b)"
)
NEEDS_BOOLEAN = N_(
    "At character %(position)s: %(operator)s needs a condition (true or false), but this has type %(actual)s"
)
COMPARE = N_("At character %(position)s: cannot compare type %(left)s with type %(right)s")
IN_MIXED = N_(
    "At character %(position)s: the values of IN must have type %(expected)s; this one has type %(actual)s"
)
NULL_COMPARISON = N_(
    "At character %(position)s: comparing with NULL is always unknown; use IS NULL or IS NOT NULL"
)
CASE_TYPES = N_(
    "At character %(position)s: all results of CASE must have one type; "
    "this one has type %(actual)s, an earlier one %(expected)s"
)
ARGUMENT_TYPE = N_(
    "At character %(position)s: %(function)s() needs a value of type %(expected)s here, "
    "but this has type %(actual)s"
)
ARGUMENTS_MIXED = N_(
    "At character %(position)s: the arguments of %(function)s() must have one type; "
    "this one has type %(actual)s, an earlier one %(expected)s"
)
CAST = N_("At character %(position)s: cannot convert type %(source)s to %(target)s")
CAST_TARGET = N_(
    "At character %(position)s: unknown type '%(name)s'; use string, integer, decimal(p, s), float, date "
    "or boolean"
)
DECIMAL_PARAMS = N_(
    "At character %(position)s: decimal(%(precision)s, %(scale)s) is invalid; the precision must be 1 to 38 "
    "and the scale 0 to the precision"
)
NUMBER_RANGE = N_("At character %(position)s: the number %(literal)s is out of range")
DATE_LITERAL = N_("At character %(position)s: '%(literal)s' is not a valid date; write DATE 'YYYY-MM-DD'")
DATE_UNIT = N_("At character %(position)s: the unit of date_diff must be 'day', 'month' or 'year'")
ROUND_PLACES = N_(
    "At character %(position)s: the decimal places of round() must be a whole number from %(min)s to %(max)s"
)
SCALE = N_(
    "At character %(position)s: the result would need %(scale)s decimal places; the limit is %(limit)s"
)
UNTYPED_NULL = N_("At character %(position)s: cannot tell the type of NULL here; write CAST(NULL AS <type>)")
RESULT_BOOLEAN = N_(
    "At character %(position)s: the expression must be a condition (true or false), but it gives type "
    "%(actual)s"
)
RESULT_NUMBER = N_(
    "At character %(position)s: the expression must give a number, but it gives type %(actual)s"
)

# Evaluation (no position: these are about the data, not the text).
MISSING_VALUE = N_("The record has no value for the field '%(name)s'")
WRONG_VALUE_TYPE = N_("The field '%(name)s' must hold a value of type %(expected)s, not %(actual)s")
OVERFLOW = N_("The result of '%(operation)s' is out of range")
CONVERSION = N_("Cannot convert %(value)s to %(target)s: out of range")
MISSING_COLUMN = N_("The data has no column '%(name)s'")
COLUMN_TYPE = N_("The column '%(name)s' has type %(actual)s, which cannot hold a %(expected)s field")
BATCH_FAILED = N_("The expression could not be evaluated on the data: %(reason)s")

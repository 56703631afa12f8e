"""Notification delivery beyond the site: SMS through a gateway, signed webhooks, each person's channels.

``models`` (tables), ``fanout`` (deliveries written with their notification), ``sms`` and ``webhooks``
(the channels), ``service`` (choices, endpoints and the worker). Kept import-light: ``core/notifications``
imports ``fanout`` from here.
"""

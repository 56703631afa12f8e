"""Errors of the accounts capability."""

from __future__ import annotations

from xinyidai.core.errors import Conflict, ValidationFailed


class RegistrationRejected(ValidationFailed):
    code = "registration_rejected"
    title = "The enterprise could not be verified against the enterprise registry"


class DuplicateRegistration(Conflict):
    code = "duplicate_registration"
    title = "This enterprise is already registered on the platform"


class UsernameTaken(Conflict):
    code = "username_taken"
    title = "This username is already taken; please choose another"


class SecondFactorFailed(ValidationFailed):
    code = "second_factor_failed"
    title = "The verification code is incorrect or has expired"

"""``/api/v1/users`` and ``/api/v1/sessions``: sign-up, sign-in, sign-out, password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Connection

from huoqi.audit.log import Actor, record
from huoqi.errors import HuoqiError
from huoqi.identity import service as identity
from huoqi.identity.phones import mask_phone, parse_phone
from huoqi.identity.service import NewSession, Principal, User
from huoqi.service.customer import open_current_account
from huoqi.web.context import (
    Ctx,
    Services,
    SignedIn,
    actor,
    client_address,
    optional_principal,
)
from huoqi.web.problems import ApiProblem
from huoqi.web.schemas import PasswordChangeIn, SessionOut, SignInIn, SignUpIn, UserOut

router = APIRouter(prefix="/api/v1", tags=["identity"])


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        phone=mask_phone(user.phone),
        role=user.role,  # type: ignore[arg-type]
        display_name=user.display_name,
        created_at=user.created_at,
    )


def sign_up_customer(ctx: Services, body: SignUpIn, address: str) -> User:
    """A new customer with a current account backed by ``body.fund_code``."""

    def work(connection: Connection) -> User:
        now = ctx.clock()
        user = identity.sign_up(
            connection,
            phone=body.phone,
            password=body.password,
            now=now,
            display_name=body.display_name,
        )
        who = Actor(user.id, "customer", address)
        record(connection, who, "user.sign_up", now=now, object_type="user", object_id=user.id)
        open_current_account(connection, user, fund_code=body.fund_code, actor=who, now=now)
        return identity.get_user(connection, user.id)

    return ctx.writer.run(work)


def sign_in(
    ctx: Services, phone: str, password: str, *, kind: identity.SessionKind, address: str
) -> NewSession:
    """A new session, or raise; every attempt is audited and counted."""
    wait = ctx.sign_in_limiter.allow(address or "unknown")
    if wait is not None:
        raise ApiProblem(
            429,
            "rate_limited",
            "too many sign-in attempts from this address; wait a minute",
            retry_after=int(wait) + 1,
        )

    def work(connection: Connection) -> NewSession | HuoqiError:
        now = ctx.clock()
        outcome = identity.attempt_sign_in(
            connection, phone=phone, password=password, kind=kind, address=address, now=now
        )
        if isinstance(outcome, NewSession):
            who = Actor(outcome.principal.user.id, outcome.principal.user.role, address)
            record(
                connection,
                who,
                "session.sign_in",
                now=now,
                object_type="session",
                object_id=outcome.principal.session_id,
                detail={"kind": kind},
            )
        else:
            record(
                connection,
                Actor(None, "anonymous", address),
                "session.sign_in",
                now=now,
                object_type="user",
                object_id=mask_phone(parse_phone(phone)),
                outcome="refused",
                detail={"code": outcome.code},
            )
        return outcome

    outcome = ctx.writer.run(work)
    if isinstance(outcome, HuoqiError):
        raise outcome
    return outcome


def sign_out(ctx: Services, principal: Principal, address: str) -> None:
    def work(connection: Connection) -> None:
        now = ctx.clock()
        identity.sign_out(connection, principal.session_id, now=now)
        record(
            connection,
            Actor(principal.user.id, principal.user.role, address),
            "session.sign_out",
            now=now,
            object_type="session",
            object_id=principal.session_id,
        )

    ctx.writer.run(work)


def change_password(
    ctx: Services, principal: Principal, body: PasswordChangeIn, address: str
) -> None:
    def work(connection: Connection) -> None:
        now = ctx.clock()
        identity.change_password(
            connection, principal, current=body.current_password, new=body.new_password, now=now
        )
        record(
            connection,
            Actor(principal.user.id, principal.user.role, address),
            "user.password_change",
            now=now,
            object_type="user",
            object_id=principal.user.id,
        )

    ctx.writer.run(work)


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    summary="Sign up as a customer (opens a current account)",
    responses={
        "404": {"description": "unknown fund_code"},
        "409": {"description": "the phone number already has an account"},
    },
)
def post_user(body: SignUpIn, request: Request, ctx: Ctx) -> UserOut:
    return user_out(sign_up_customer(ctx, body, client_address(request)))


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionOut,
    summary="Sign in; answers a bearer token for API clients",
    responses={
        "401": {"description": "wrong phone number or password"},
        "423": {"description": "locked after 5 wrong passwords (see Retry-After)"},
        "429": {"description": "too many sign-in attempts from this address"},
    },
)
def post_session(body: SignInIn, request: Request, ctx: Ctx) -> SessionOut:
    new = sign_in(ctx, body.phone, body.password, kind="bearer", address=client_address(request))
    return SessionOut(token=new.token, expires_at=new.expires_at, user=user_out(new.principal.user))


@router.delete("/sessions/current", status_code=204, summary="Sign out this session")
def delete_session(
    request: Request,
    ctx: Ctx,
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Response:
    if principal is None:
        raise identity.Unauthenticated("there is no session to sign out of")
    sign_out(ctx, principal, client_address(request))
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, summary="Who am I")
def get_me(principal: SignedIn) -> UserOut:
    return user_out(principal.user)


@router.post("/me/password", status_code=204, summary="Change the password (signs out others)")
def post_password(
    body: PasswordChangeIn, request: Request, ctx: Ctx, principal: SignedIn
) -> Response:
    change_password(ctx, principal, body, client_address(request))
    return Response(status_code=204)


__all__ = ["actor", "router"]

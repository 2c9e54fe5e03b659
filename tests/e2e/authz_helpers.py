"""Principals for the authorization suites: IAM users with their own access keys, roles and
their sessions, each driven through its own boto3 clients against the session's Kinko."""

from __future__ import annotations

import itertools
import json
import uuid

import boto3
from botocore.exceptions import ClientError

from conftest import REGION, _record_request_id
from kinko_server import client_config, make_botocore_session

_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_serial)}-{uuid.uuid4().hex[:6]}"


class Principal:
    """One identity and its clients. `arn` is what Kinko sees as the caller."""

    def __init__(self, world: "World", arn: str, credentials: dict, name: str | None = None):
        self.world = world
        self.arn = arn
        self.name = name
        self.credentials = credentials
        self._clients: dict[str, object] = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.world.client(service, self.credentials)
        return self._clients[service]

    @property
    def kms(self):
        return self.client("kms")


class World:
    """The session's server, its root (administrator) clients and factories for principals."""

    def __init__(self, kinko, admin_kms, account_id: str):
        self.kinko = kinko
        self.account = account_id
        self.admin_kms = admin_kms
        self.iam = self.client("iam", None)
        self.sts = self.client("sts", None)

    def client(self, service: str, credentials: dict | None):
        botocore_session = make_botocore_session(self.kinko)
        botocore_session.register("after-call", _record_request_id)
        session = boto3.session.Session(botocore_session=botocore_session)
        kwargs = dict(region_name=REGION, endpoint_url=self.kinko.endpoint, config=client_config())
        if credentials is not None:
            kwargs.update(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials.get("SessionToken"),
            )
        return session.client(service, **kwargs)

    def root_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:root"

    def user(self, policy: dict | None = None, tags: dict | None = None, prefix: str = "u") -> Principal:
        name = unique(prefix)
        arn = self.iam.create_user(UserName=name)["User"]["Arn"]
        if tags:
            self.iam.tag_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        if policy is not None:
            self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return Principal(self, arn, {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}, name)

    def role_session(self, policy: dict | None = None, session_name: str = "app") -> Principal:
        """A role that the account root may assume, with `policy` inline, and one session of it."""
        name = unique("role")
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": self.root_arn()}, "Action": "sts:AssumeRole"}],
        }
        role_arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        if policy is not None:
            self.iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        assumed = self.sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)
        principal = Principal(self, assumed["AssumedRoleUser"]["Arn"], assumed["Credentials"], name)
        principal.role_arn = role_arn
        return principal


def statement(effect: str, principal, actions, resource="*", condition: dict | None = None, sid: str | None = None) -> dict:
    s = {"Effect": effect, "Principal": principal, "Action": actions, "Resource": resource}
    if condition:
        s["Condition"] = condition
    if sid:
        s["Sid"] = sid
    return s


def identity_statement(effect: str, actions, resource="*", condition: dict | None = None) -> dict:
    s = {"Effect": effect, "Action": actions, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def policy(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def outcome(fn, *args, **kwargs) -> tuple[str, str]:
    """('allow', '') or ('deny', message); any other error fails the test."""
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        err = e.response.get("Error", {})
        if err.get("Code") == "AccessDeniedException":
            return "deny", err.get("Message", "")
        raise
    return "allow", ""

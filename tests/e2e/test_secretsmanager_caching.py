"""AWS's Python caching client for Secrets Manager (`aws-secretsmanager-caching`, pinned in
requirements.txt) over a boto3 `secretsmanager` client against the real server. The library reads a
secret with DescribeSecret (which version holds the stage) and then GetSecretValue by VersionId, so
these tests check that the two answer it consistently: the value, a stale value while the cache is
fresh, the new one after a refresh, staging labels, binaries, and the two decorators."""

from __future__ import annotations

import json
import time

import pytest
from aws_secretsmanager_caching import (
    InjectKeywordedSecretString,
    InjectSecretString,
    SecretCache,
    SecretCacheConfig,
)
from botocore.exceptions import ClientError

from authz_helpers import World, unique


@pytest.fixture(scope="module")
def sm(kinko, kms, account_id):
    return World(kinko, kms, account_id).client("secretsmanager", None)


def test_get_secret_string_then_a_stale_value_until_refreshed(sm):
    name = unique("cache")
    sm.create_secret(Name=name, SecretString="first")
    cache = SecretCache(config=SecretCacheConfig(secret_refresh_interval=3600), client=sm)
    assert cache.get_secret_string(name) == "first"
    sm.put_secret_value(SecretId=name, SecretString="second")
    # Fresh for an hour: the cache answers from memory, so it still holds the old value.
    assert cache.get_secret_string(name) == "first"
    assert cache.get_secret_string(name, version_stage="AWSCURRENT") == "first"
    assert cache.refresh_secret_now(name) is True
    assert cache.get_secret_string(name) == "second"
    assert cache.get_secret_string(name, version_stage="AWSPREVIOUS") == "first"
    # A new cache sees the new value straight away.
    assert SecretCache(config=SecretCacheConfig(), client=sm).get_secret_string(name) == "second"


def test_a_tiny_refresh_interval_picks_up_a_new_version(sm):
    name = unique("cache-ttl")
    sm.create_secret(Name=name, SecretString="old")
    cache = SecretCache(config=SecretCacheConfig(secret_refresh_interval=1), client=sm)
    assert cache.get_secret_string(name) == "old"
    sm.put_secret_value(SecretId=name, SecretString="new")
    time.sleep(1.2)  # the next refresh falls within [ttl/2, ttl] seconds
    assert cache.get_secret_string(name) == "new"


def test_binary_secrets_and_missing_ones(sm):
    name = unique("cache-bin")
    blob = bytes(range(256))
    sm.create_secret(Name=name, SecretBinary=blob)
    cache = SecretCache(config=SecretCacheConfig(), client=sm)
    assert cache.get_secret_binary(name) == blob
    assert cache.get_secret_string(name) is None
    # An unknown stage has no version: the library answers None rather than raising.
    assert cache.get_secret_string(name, version_stage="NO-SUCH-STAGE") is None
    with pytest.raises(ClientError) as info:
        cache.get_secret_string(unique("cache-missing"))
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_inject_decorators(sm):
    plain, structured = unique("cache-inject"), unique("cache-json")
    sm.create_secret(Name=plain, SecretString="p4ss")
    sm.create_secret(Name=structured, SecretString=json.dumps({"username": "app", "password": "hunter2"}))
    cache = SecretCache(config=SecretCacheConfig(), client=sm)

    @InjectSecretString(plain, cache)
    def connect(secret, host):
        return f"{host}:{secret}"

    @InjectKeywordedSecretString(structured, cache, user="username", password="password")
    def login(user, password, db):
        return (user, password, db)

    assert connect("db.local") == "db.local:p4ss"
    assert login(db="main") == ("app", "hunter2", "main")

    class Service:
        @InjectSecretString(plain, cache)
        def connect(self, secret):
            return secret

    assert Service().connect() == "p4ss"

// The client and assertions every test file shares. The endpoint, region and credentials come
// from the environment that tests/e2e/test_js_sdk.py sets after starting a real `kinko serve`.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { KMSClient, KMSServiceException } from "@aws-sdk/client-kms";

export function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through tests/e2e/test_js_sdk.py`);
  }
  return value;
}

export const REGION = () => env("KINKO_REGION");
export const ACCOUNT = () => env("KINKO_ACCOUNT_ID");

/** A KMS client for the account's administrator, or for the credentials given. */
export function kms(credentials) {
  return new KMSClient({
    endpoint: env("KINKO_ENDPOINT"),
    region: REGION(),
    maxAttempts: 1,
    credentials: credentials ?? {
      accessKeyId: env("KINKO_ACCESS_KEY_ID"),
      secretAccessKey: env("KINKO_SECRET_ACCESS_KEY"),
    },
  });
}

/** The IAM user with no policy of its own that the grant tests grant to. */
export function grantee() {
  return {
    arn: env("KINKO_GRANTEE_ARN"),
    credentials: {
      accessKeyId: env("KINKO_GRANTEE_ACCESS_KEY_ID"),
      secretAccessKey: env("KINKO_GRANTEE_SECRET_ACCESS_KEY"),
    },
  };
}

export function keyArn(keyId) {
  return `arn:aws:kms:${REGION()}:${ACCOUNT()}:key/${keyId}`;
}

export function uniqueAlias(prefix = "js") {
  return `alias/${prefix}-${randomUUID().slice(0, 12)}`;
}

/**
 * Awaits `promise`, requires it to fail with the modeled exception class `type` (so the SDK
 * itself recognised the code), a client-fault status and, when given, the exact message (or one
 * matching a RegExp). `type` may be a code's name instead: AccessDeniedException and
 * ValidationException are common AWS errors the KMS model does not list, which the SDK raises as
 * a `KMSServiceException` carrying the code as its `name`.
 */
export async function rejects(promise, type, message) {
  const name = typeof type === "string" ? type : type.name;
  const cls = typeof type === "string" ? KMSServiceException : type;
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${name}, the call succeeded`);
  assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`);
  assert.ok(err instanceof cls, `${err.name} is not an instance of the SDK's ${cls.name}`);
  assert.equal(err.$fault, "client");
  const status = err.$metadata?.httpStatusCode;
  assert.ok(status >= 400 && status < 500, `${err.name} came with HTTP ${status}`);
  if (message instanceof RegExp) {
    assert.match(err.message, message);
  } else if (message !== undefined) {
    assert.equal(err.message, message);
  }
  return err;
}

export const bytes = (s) => new TextEncoder().encode(s);
export const text = (b) => new TextDecoder().decode(b);

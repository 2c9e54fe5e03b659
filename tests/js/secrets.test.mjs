// Secrets Manager through the AWS SDK for JavaScript v3 (`@aws-sdk/client-secrets-manager`):
// create, read, new versions and their staging labels, describe, list, errors read back as the
// SDK's modeled exception classes (by `err.name`, `instanceof` and AWS's message), and deletion.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { ACCOUNT, REGION, bytes, env, text } from "./kinko.mjs";

const client = new SecretsManagerClient({
  endpoint: env("KINKO_ENDPOINT"),
  region: REGION(),
  maxAttempts: 1,
  credentials: {
    accessKeyId: env("KINKO_ACCESS_KEY_ID"),
    secretAccessKey: env("KINKO_SECRET_ACCESS_KEY"),
  },
});

const uniqueName = (prefix) => `js-${prefix}-${randomUUID().slice(0, 12)}`;

/** Awaits `promise` and requires it to fail with the modeled class `type` and the exact `message`. */
async function rejects(promise, type, message) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${type.name}, the call succeeded`);
  assert.equal(err.name, type.name, `expected ${type.name}, got ${err.name}: ${err.message}`);
  assert.ok(err instanceof type, `${err.name} is not an instance of the SDK's ${type.name}`);
  assert.ok(err instanceof SecretsManagerServiceException);
  assert.equal(err.$fault, "client");
  const status = err.$metadata?.httpStatusCode;
  assert.ok(status >= 400 && status < 500, `${err.name} came with HTTP ${status}`);
  assert.equal(err.message, message);
  return err;
}

test("CreateSecret and GetSecretValue for a string and a binary secret", async () => {
  const name = uniqueName("create");
  const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: "s3cr3t", Description: "js" }));
  assert.equal(created.Name, name);
  assert.match(created.ARN, new RegExp(`^arn:aws:secretsmanager:${REGION()}:${ACCOUNT()}:secret:${name}-[A-Za-z0-9]{6}$`));
  const got = await client.send(new GetSecretValueCommand({ SecretId: name }));
  assert.equal(got.SecretString, "s3cr3t");
  assert.equal(got.SecretBinary, undefined);
  assert.equal(got.VersionId, created.VersionId);
  assert.deepEqual(got.VersionStages, ["AWSCURRENT"]);
  assert.equal(got.ARN, created.ARN);
  assert.ok(got.CreatedDate instanceof Date, "CreatedDate is parsed as a Date");
  // The ARN names the same secret as the name does.
  assert.equal((await client.send(new GetSecretValueCommand({ SecretId: created.ARN }))).SecretString, "s3cr3t");

  const binName = uniqueName("binary");
  const blob = new Uint8Array([0, 1, 2, 250, 255]);
  await client.send(new CreateSecretCommand({ Name: binName, SecretBinary: blob }));
  const bin = await client.send(new GetSecretValueCommand({ SecretId: binName }));
  assert.deepEqual(new Uint8Array(bin.SecretBinary), blob);
  assert.equal(bin.SecretString, undefined);
});

test("PutSecretValue moves AWSCURRENT and AWSPREVIOUS, and a custom stage stays put", async () => {
  const name = uniqueName("stages");
  const v1 = (await client.send(new CreateSecretCommand({ Name: name, SecretString: "one" }))).VersionId;
  const put = await client.send(new PutSecretValueCommand({ SecretId: name, SecretBinary: bytes("two") }));
  const v2 = put.VersionId;
  assert.notEqual(v1, v2);
  assert.deepEqual(put.VersionStages, ["AWSCURRENT"]);
  assert.equal(text((await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretBinary), "two");
  const previous = await client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: "AWSPREVIOUS" }));
  assert.equal(previous.SecretString, "one");
  assert.equal(previous.VersionId, v1);

  const token = randomUUID();
  const pending = await client.send(
    new PutSecretValueCommand({ SecretId: name, SecretString: "three", VersionStages: ["AWSPENDING"], ClientRequestToken: token }),
  );
  assert.equal(pending.VersionId, token, "ClientRequestToken becomes the version's id");
  assert.equal((await client.send(new GetSecretValueCommand({ SecretId: name }))).VersionId, v2);
  assert.equal((await client.send(new GetSecretValueCommand({ SecretId: name, VersionId: token }))).SecretString, "three");

  const stages = (await client.send(new DescribeSecretCommand({ SecretId: name }))).VersionIdsToStages;
  assert.deepEqual(stages, { [v1]: ["AWSPREVIOUS"], [v2]: ["AWSCURRENT"], [token]: ["AWSPENDING"] });
});

test("DescribeSecret shows the metadata and no value", async () => {
  const name = uniqueName("describe");
  const created = await client.send(
    new CreateSecretCommand({ Name: name, SecretString: "hidden", Description: "described", Tags: [{ Key: "team", Value: "js" }] }),
  );
  const d = await client.send(new DescribeSecretCommand({ SecretId: name }));
  assert.equal(d.ARN, created.ARN);
  assert.equal(d.Name, name);
  assert.equal(d.Description, "described");
  assert.deepEqual(d.Tags, [{ Key: "team", Value: "js" }]);
  assert.ok(d.CreatedDate instanceof Date);
  assert.equal(d.DeletedDate, undefined);
  assert.equal(d.RotationEnabled ?? false, false);
  assert.ok(!JSON.stringify(d).includes("hidden"), "DescribeSecret leaks no value");
});

test("ListSecrets filters by name, sorts and pages", async () => {
  const prefix = uniqueName("list");
  const names = [0, 1, 2].map((i) => `${prefix}/${i}`);
  for (const n of names) {
    await client.send(new CreateSecretCommand({ Name: n, SecretString: "v" }));
  }
  const filter = [{ Key: "name", Values: [prefix] }];
  const all = await client.send(new ListSecretsCommand({ Filters: filter }));
  assert.deepEqual(all.SecretList.map((s) => s.Name), names);
  const desc = await client.send(new ListSecretsCommand({ Filters: filter, SortOrder: "desc" }));
  assert.deepEqual(desc.SecretList.map((s) => s.Name), [...names].reverse());
  const seen = [];
  let page = await client.send(new ListSecretsCommand({ Filters: filter, MaxResults: 2 }));
  assert.equal(page.SecretList.length, 2);
  assert.ok(page.NextToken, "a first page of 2 of 3 has a NextToken");
  seen.push(...page.SecretList.map((s) => s.Name));
  while (page.NextToken) {
    page = await client.send(new ListSecretsCommand({ Filters: filter, MaxResults: 2, NextToken: page.NextToken }));
    seen.push(...page.SecretList.map((s) => s.Name));
  }
  assert.deepEqual(seen, names);
});

test("ResourceNotFoundException and ResourceExistsException with AWS's messages", async () => {
  await rejects(
    client.send(new GetSecretValueCommand({ SecretId: uniqueName("nope") })),
    ResourceNotFoundException,
    "Secrets Manager can't find the specified secret.",
  );
  const name = uniqueName("errors");
  await client.send(new CreateSecretCommand({ Name: name, SecretString: "v" }));
  await rejects(
    client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: "NOPE" })),
    ResourceNotFoundException,
    "Secrets Manager can't find the specified secret value for staging label: NOPE",
  );
  const err = await rejects(
    client.send(new CreateSecretCommand({ Name: name, SecretString: "v" })),
    ResourceExistsException,
    `The operation failed because the secret ${name} already exists.`,
  );
  assert.ok(err.$metadata.requestId, "the x-amzn-RequestId header is read");
});

test("DeleteSecret: InvalidRequestException while marked for deletion, RestoreSecret, then a forced delete", async () => {
  const name = uniqueName("delete");
  await client.send(new CreateSecretCommand({ Name: name, SecretString: "v" }));
  const deleted = await client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
  assert.equal(deleted.Name, name);
  assert.ok(deleted.DeletionDate instanceof Date);
  const days = (deleted.DeletionDate.getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 6.9 && days <= 7.01, `DeletionDate is ${days} days away`);
  const marked = "You can't perform this operation on the secret because it was marked for deletion.";
  await rejects(client.send(new GetSecretValueCommand({ SecretId: name })), InvalidRequestException, marked);
  await rejects(client.send(new PutSecretValueCommand({ SecretId: name, SecretString: "w" })), InvalidRequestException, marked);
  assert.ok((await client.send(new DescribeSecretCommand({ SecretId: name }))).DeletedDate instanceof Date);

  await client.send(new RestoreSecretCommand({ SecretId: name }));
  assert.equal((await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, "v");

  await client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
  await rejects(
    client.send(new DescribeSecretCommand({ SecretId: name })),
    ResourceNotFoundException,
    "Secrets Manager can't find the specified secret.",
  );
});

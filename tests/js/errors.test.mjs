// Error codes through the AWS SDK for JavaScript v3: each error comes back as the SDK's modeled
// exception class (matched by `err.name` and `instanceof`), with AWS's message where it is known
// (docs/errors.md) and Kinko's own where it is not.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import {
  AlreadyExistsException,
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisabledException,
  DryRunOperationException,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  InvalidKeyUsageException,
  KMSInvalidStateException,
  KMSServiceException,
  NotFoundException,
  ScheduleKeyDeletionCommand,
  SignCommand,
} from "@aws-sdk/client-kms";
import { bytes, keyArn, kms, rejects, uniqueAlias } from "./kinko.mjs";

const client = kms();

async function newKey(input = {}) {
  return (await client.send(new CreateKeyCommand({ Description: "js errors", ...input }))).KeyMetadata;
}

test("NotFoundException for a key that does not exist", async () => {
  const id = randomUUID();
  const err = await rejects(client.send(new DescribeKeyCommand({ KeyId: id })), NotFoundException, `Key '${keyArn(id)}' does not exist`);
  assert.ok(err instanceof KMSServiceException);
  assert.ok(err.$metadata.requestId, "the x-amzn-RequestId header is read");
  await rejects(client.send(new EncryptCommand({ KeyId: "alias/js-no-such-alias", Plaintext: bytes("x") })), NotFoundException);
});

test("NotFoundException for a key ARN of another region", async () => {
  const md = await newKey();
  const elsewhere = md.Arn.replace(`:kms:${md.Arn.split(":")[3]}:`, ":kms:eu-west-3:");
  await rejects(client.send(new DescribeKeyCommand({ KeyId: elsewhere })), NotFoundException, "Invalid arn eu-west-3");
});

test("DisabledException while a key is disabled, and back after EnableKey", async () => {
  const md = await newKey();
  await client.send(new DisableKeyCommand({ KeyId: md.KeyId }));
  await rejects(
    client.send(new EncryptCommand({ KeyId: md.KeyId, Plaintext: bytes("x") })),
    DisabledException,
    `${md.Arn} is disabled.`,
  );
  await client.send(new EnableKeyCommand({ KeyId: md.KeyId }));
  await client.send(new EncryptCommand({ KeyId: md.KeyId, Plaintext: bytes("x") }));
});

test("KMSInvalidStateException while a key is pending deletion", async () => {
  const md = await newKey();
  const scheduled = await client.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId, PendingWindowInDays: 7 }));
  assert.equal(scheduled.KeyState, "PendingDeletion");
  assert.ok(scheduled.DeletionDate instanceof Date);
  await rejects(
    client.send(new EncryptCommand({ KeyId: md.KeyId, Plaintext: bytes("x") })),
    KMSInvalidStateException,
    `${md.Arn} is pending deletion.`,
  );
  await client.send(new CancelKeyDeletionCommand({ KeyId: md.KeyId }));
});

test("ValidationException in AWS's form for values the SDK passes unchecked", async () => {
  const md = await newKey();
  await rejects(
    client.send(new GenerateDataKeyCommand({ KeyId: md.KeyId, NumberOfBytes: 0 })),
    "ValidationException",
    /^1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1$/,
  );
  await rejects(
    client.send(new CreateAliasCommand({ AliasName: "no-prefix", TargetKeyId: md.KeyId })),
    "ValidationException",
    'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
  );
  await rejects(
    client.send(new CreateKeyCommand({ KeySpec: "AES_512" })),
    "ValidationException",
    /^1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: \[/,
  );
});

test("AlreadyExistsException for an alias name in use", async () => {
  const md = await newKey();
  const alias = uniqueAlias();
  await client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: md.KeyId }));
  await rejects(client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: md.KeyId })), AlreadyExistsException);
});

test("InvalidCiphertextException and IncorrectKeyException on Decrypt", async () => {
  const a = await newKey();
  const b = await newKey();
  await rejects(client.send(new DecryptCommand({ CiphertextBlob: bytes("not a kinko ciphertext at all") })), InvalidCiphertextException);
  const enc = await client.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes("x") }));
  await rejects(
    client.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: b.KeyId })),
    IncorrectKeyException,
    "The key ID in the request does not identify a CMK that can perform this operation.",
  );
});

test("InvalidKeyUsageException names the key, its usage and the operation", async () => {
  const md = await newKey();
  await rejects(
    client.send(
      new SignCommand({ KeyId: md.KeyId, Message: bytes("x"), SigningAlgorithm: "RSASSA_PSS_SHA_256" }),
    ),
    InvalidKeyUsageException,
    `${md.Arn} key usage is ENCRYPT_DECRYPT which is not valid for Sign.`,
  );
});

test("DryRunOperationException when a DryRun request would succeed, and nothing changes", async () => {
  const md = await newKey();
  await rejects(
    client.send(new EncryptCommand({ KeyId: md.KeyId, Plaintext: bytes("x"), DryRun: true })),
    DryRunOperationException,
    "The request would have succeeded, but the DryRun option is set.",
  );
  // A DryRun that would fail fails as the real request would.
  await client.send(new DisableKeyCommand({ KeyId: md.KeyId }));
  await rejects(client.send(new EncryptCommand({ KeyId: md.KeyId, Plaintext: bytes("x"), DryRun: true })), DisabledException);
});

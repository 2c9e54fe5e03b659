// Symmetric keys through the AWS SDK for JavaScript v3: Encrypt/Decrypt with an encryption
// context, data keys, ReEncrypt, aliases and GenerateRandom.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  InvalidCiphertextException,
  ReEncryptCommand,
} from "@aws-sdk/client-kms";
import { bytes, keyArn, kms, rejects, text, uniqueAlias } from "./kinko.mjs";

const client = kms();

async function newKey(description) {
  const out = await client.send(new CreateKeyCommand({ Description: description }));
  return out.KeyMetadata;
}

test("CreateKey answers AWS's metadata for a symmetric key", async () => {
  const md = await newKey("js symmetric");
  assert.equal(md.KeySpec, "SYMMETRIC_DEFAULT");
  assert.equal(md.KeyUsage, "ENCRYPT_DECRYPT");
  assert.equal(md.KeyState, "Enabled");
  assert.equal(md.Enabled, true);
  assert.equal(md.Arn, keyArn(md.KeyId));
  assert.ok(md.CreationDate instanceof Date, "CreationDate is parsed as a Date");
  assert.ok(Math.abs(Date.now() - md.CreationDate.getTime()) < 300_000);
  assert.deepEqual(md.EncryptionAlgorithms, ["SYMMETRIC_DEFAULT"]);
});

test("Encrypt and Decrypt round-trip with an encryption context", async () => {
  const md = await newKey("js encrypt");
  const context = { app: "js-e2e", tenant: "t1" };
  const enc = await client.send(
    new EncryptCommand({ KeyId: md.KeyId, Plaintext: bytes("hello from node"), EncryptionContext: context }),
  );
  assert.equal(enc.KeyId, md.Arn);
  assert.equal(enc.EncryptionAlgorithm, "SYMMETRIC_DEFAULT");
  assert.ok(enc.CiphertextBlob instanceof Uint8Array && enc.CiphertextBlob.length > 15);
  assert.ok(!Buffer.from(enc.CiphertextBlob).includes(Buffer.from("hello from node")));

  // No KeyId: the blob says which key.
  const dec = await client.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context }));
  assert.equal(text(dec.Plaintext), "hello from node");
  assert.equal(dec.KeyId, md.Arn);

  // The context is bound to the ciphertext.
  await rejects(
    client.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { app: "other" } })),
    InvalidCiphertextException,
  );
  const tampered = Uint8Array.from(enc.CiphertextBlob);
  tampered[tampered.length - 1] ^= 1;
  await rejects(
    client.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: context })),
    InvalidCiphertextException,
  );
});

test("GenerateDataKey: the plaintext key is what its ciphertext decrypts to", async () => {
  const md = await newKey("js data keys");
  const dk = await client.send(new GenerateDataKeyCommand({ KeyId: md.Arn, KeySpec: "AES_256" }));
  assert.equal(dk.Plaintext.length, 32);
  assert.equal(dk.KeyId, md.Arn);
  const dec = await client.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, KeyId: md.KeyId }));
  assert.deepEqual(Buffer.from(dec.Plaintext), Buffer.from(dk.Plaintext));

  const small = await client.send(new GenerateDataKeyCommand({ KeyId: md.KeyId, NumberOfBytes: 7 }));
  assert.equal(small.Plaintext.length, 7);

  const other = await client.send(new GenerateDataKeyCommand({ KeyId: md.KeyId, KeySpec: "AES_256" }));
  assert.notDeepEqual(Buffer.from(other.Plaintext), Buffer.from(dk.Plaintext));

  const np = await client.send(
    new GenerateDataKeyWithoutPlaintextCommand({ KeyId: md.KeyId, KeySpec: "AES_128", EncryptionContext: { k: "v" } }),
  );
  assert.equal(np.Plaintext, undefined);
  const dec2 = await client.send(new DecryptCommand({ CiphertextBlob: np.CiphertextBlob, EncryptionContext: { k: "v" } }));
  assert.equal(dec2.Plaintext.length, 16);
});

test("ReEncrypt moves a ciphertext to another key, through an alias", async () => {
  const a = await newKey("js reencrypt source");
  const b = await newKey("js reencrypt destination");
  const alias = uniqueAlias();
  await client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: b.KeyId }));
  const described = await client.send(new DescribeKeyCommand({ KeyId: alias }));
  assert.equal(described.KeyMetadata.KeyId, b.KeyId);

  const enc = await client.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes("moving") }));
  const re = await client.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: alias }));
  assert.equal(re.SourceKeyId, a.Arn);
  assert.equal(re.KeyId, b.Arn);
  const dec = await client.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob }));
  assert.equal(text(dec.Plaintext), "moving");
  assert.equal(dec.KeyId, b.Arn);
});

test("GenerateRandom returns the bytes asked for, different each time", async () => {
  const one = await client.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
  const two = await client.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
  assert.equal(one.Plaintext.length, 32);
  assert.notDeepEqual(Buffer.from(one.Plaintext), Buffer.from(two.Plaintext));
});

// Asymmetric and HMAC keys through the AWS SDK for JavaScript v3. Every signature Kinko makes is
// also checked by Node's own crypto against the public key GetPublicKey returns, and a ciphertext
// Node makes under that public key is decrypted by Kinko.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyPairCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  KMSInvalidMacException,
  KMSInvalidSignatureException,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
} from "@aws-sdk/client-kms";
import { bytes, kms, rejects, text } from "./kinko.mjs";

const client = kms();

async function newKey(KeySpec, KeyUsage) {
  const out = await client.send(new CreateKeyCommand({ KeySpec, KeyUsage, Description: `js ${KeySpec}` }));
  assert.equal(out.KeyMetadata.KeySpec, KeySpec);
  assert.equal(out.KeyMetadata.KeyUsage, KeyUsage);
  return out.KeyMetadata;
}

async function publicKey(keyId) {
  const out = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  return { out, key: crypto.createPublicKey({ key: Buffer.from(out.PublicKey), format: "der", type: "spki" }) };
}

test("RSA-PSS Sign verifies in Kinko and in Node's crypto", async () => {
  const md = await newKey("RSA_2048", "SIGN_VERIFY");
  const { out, key } = await publicKey(md.KeyId);
  assert.equal(out.KeyUsage, "SIGN_VERIFY");
  assert.ok(out.SigningAlgorithms.includes("RSASSA_PSS_SHA_256"));
  assert.equal(key.asymmetricKeyDetails.modulusLength, 2048);

  const message = bytes("signed by kinko, checked by node");
  const signed = await client.send(
    new SignCommand({ KeyId: md.KeyId, Message: message, MessageType: "RAW", SigningAlgorithm: "RSASSA_PSS_SHA_256" }),
  );
  assert.equal(signed.KeyId, md.Arn);
  assert.equal(signed.SigningAlgorithm, "RSASSA_PSS_SHA_256");
  assert.ok(
    crypto.verify(
      "sha256",
      message,
      { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      Buffer.from(signed.Signature),
    ),
    "Node's crypto verifies Kinko's PSS signature",
  );

  const ok = await client.send(
    new VerifyCommand({
      KeyId: md.KeyId,
      Message: message,
      Signature: signed.Signature,
      SigningAlgorithm: "RSASSA_PSS_SHA_256",
    }),
  );
  assert.equal(ok.SignatureValid, true);
  await rejects(
    client.send(
      new VerifyCommand({
        KeyId: md.KeyId,
        Message: bytes("another message"),
        Signature: signed.Signature,
        SigningAlgorithm: "RSASSA_PSS_SHA_256",
      }),
    ),
    KMSInvalidSignatureException,
  );
});

test("ECDSA P-256 over a digest verifies in Node's crypto", async () => {
  const md = await newKey("ECC_NIST_P256", "SIGN_VERIFY");
  const { key } = await publicKey(md.Arn);
  const message = bytes("ecdsa message");
  const digest = crypto.createHash("sha256").update(message).digest();
  const signed = await client.send(
    new SignCommand({ KeyId: md.KeyId, Message: digest, MessageType: "DIGEST", SigningAlgorithm: "ECDSA_SHA_256" }),
  );
  // AWS returns a DER-encoded ECDSA signature, Node's default encoding.
  assert.ok(crypto.verify("sha256", message, key, Buffer.from(signed.Signature)));
  assert.ok(!crypto.verify("sha256", bytes("not it"), key, Buffer.from(signed.Signature)));
});

test("RSA-OAEP: Node encrypts under the public key, Kinko decrypts, and back", async () => {
  const md = await newKey("RSA_3072", "ENCRYPT_DECRYPT");
  const { out, key } = await publicKey(md.KeyId);
  assert.deepEqual(out.EncryptionAlgorithms.sort(), ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]);
  const secret = bytes("for the key holder only");
  const blob = crypto.publicEncrypt({ key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, secret);
  const dec = await client.send(
    new DecryptCommand({ KeyId: md.KeyId, CiphertextBlob: blob, EncryptionAlgorithm: "RSAES_OAEP_SHA_256" }),
  );
  assert.equal(text(dec.Plaintext), "for the key holder only");
  assert.equal(dec.EncryptionAlgorithm, "RSAES_OAEP_SHA_256");

  const enc = await client.send(
    new EncryptCommand({ KeyId: md.KeyId, Plaintext: secret, EncryptionAlgorithm: "RSAES_OAEP_SHA_1" }),
  );
  assert.equal(enc.CiphertextBlob.length, 384);
  const back = await client.send(
    new DecryptCommand({ KeyId: md.Arn, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: "RSAES_OAEP_SHA_1" }),
  );
  assert.equal(text(back.Plaintext), "for the key holder only");
});

test("GenerateDataKeyPair: the private key matches the public key", async () => {
  const md = await client.send(new CreateKeyCommand({ Description: "js data key pairs" }));
  const pair = await client.send(
    new GenerateDataKeyPairCommand({ KeyId: md.KeyMetadata.KeyId, KeyPairSpec: "ECC_NIST_P256" }),
  );
  assert.equal(pair.KeyPairSpec, "ECC_NIST_P256");
  const priv = crypto.createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext), format: "der", type: "pkcs8" });
  const pub = crypto.createPublicKey({ key: Buffer.from(pair.PublicKey), format: "der", type: "spki" });
  const sig = crypto.sign("sha256", bytes("pair"), priv);
  assert.ok(crypto.verify("sha256", bytes("pair"), pub, sig));
  const dec = await client.send(new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob }));
  assert.deepEqual(Buffer.from(dec.Plaintext), Buffer.from(pair.PrivateKeyPlaintext));
});

test("HMAC: GenerateMac and VerifyMac", async () => {
  const md = await newKey("HMAC_256", "GENERATE_VERIFY_MAC");
  const mac = await client.send(
    new GenerateMacCommand({ KeyId: md.KeyId, Message: bytes("mac me"), MacAlgorithm: "HMAC_SHA_256" }),
  );
  assert.equal(mac.Mac.length, 32);
  const again = await client.send(
    new GenerateMacCommand({ KeyId: md.KeyId, Message: bytes("mac me"), MacAlgorithm: "HMAC_SHA_256" }),
  );
  assert.deepEqual(Buffer.from(again.Mac), Buffer.from(mac.Mac));
  const ok = await client.send(
    new VerifyMacCommand({ KeyId: md.KeyId, Message: bytes("mac me"), Mac: mac.Mac, MacAlgorithm: "HMAC_SHA_256" }),
  );
  assert.equal(ok.MacValid, true);
  await rejects(
    client.send(
      new VerifyMacCommand({ KeyId: md.KeyId, Message: bytes("mac you"), Mac: mac.Mac, MacAlgorithm: "HMAC_SHA_256" }),
    ),
    KMSInvalidMacException,
  );
});

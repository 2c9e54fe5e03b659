// AWS's 2025–2026 additions through the AWS SDK for JavaScript v3: grants to service principals
// (listed and filtered, never allowing a direct caller), GetKeyRotationStatus of asymmetric keys,
// and KeyMaterialId in responses.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  ListGrantsCommand,
  ListRetirableGrantsCommand,
  RevokeGrantCommand,
} from "@aws-sdk/client-kms";
import { ACCOUNT, bytes, grantee, kms, rejects } from "./kinko.mjs";

const client = kms();
const MATERIAL_ID = /^[0-9a-f]{64}$/;

test("a grant to a service principal is listed and filtered, and lets no direct caller in", async () => {
  const user = grantee();
  const md = (await client.send(new CreateKeyCommand({ Description: "js service grant" }))).KeyMetadata;
  const sourceArn = `arn:aws:logs:${md.Arn.split(":")[3]}:${ACCOUNT()}:log-group:js`;
  const { GrantId } = await client.send(
    new CreateGrantCommand({
      KeyId: md.KeyId,
      GranteeServicePrincipal: "logs.us-east-1.amazonaws.com",
      RetiringServicePrincipal: "logs.amazonaws.com",
      Operations: ["Encrypt", "Decrypt"],
      Constraints: { SourceArn: sourceArn },
    }),
  );
  const [entry] = (
    await client.send(new ListGrantsCommand({ KeyId: md.KeyId, GranteeServicePrincipal: "logs.us-east-1.amazonaws.com" }))
  ).Grants;
  assert.equal(entry.GrantId, GrantId);
  assert.equal(entry.GranteeServicePrincipal, "logs.us-east-1.amazonaws.com");
  assert.equal(entry.RetiringServicePrincipal, "logs.amazonaws.com");
  assert.equal(entry.GranteePrincipal, undefined);
  assert.deepEqual(entry.Constraints, { SourceArn: sourceArn });
  const retirable = await client.send(new ListRetirableGrantsCommand({ RetiringServicePrincipal: "logs.amazonaws.com" }));
  assert.ok(retirable.Grants.some((g) => g.GrantId === GrantId));

  await rejects(
    kms(user.credentials).send(new EncryptCommand({ KeyId: md.Arn, Plaintext: bytes("x") })),
    "AccessDeniedException",
  );
  await rejects(
    client.send(new CreateGrantCommand({ KeyId: md.KeyId, GranteeServicePrincipal: "logs.us-east-1.amazonaws.com", Operations: ["Encrypt"] })),
    "ValidationException",
    /SourceArn/,
  );
  await client.send(new RevokeGrantCommand({ KeyId: md.KeyId, GrantId }));
  assert.deepEqual((await client.send(new ListGrantsCommand({ KeyId: md.KeyId }))).Grants, []);
});

test("GetKeyRotationStatus of an asymmetric key answers false", async () => {
  const md = (await client.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }))).KeyMetadata;
  const status = await client.send(new GetKeyRotationStatusCommand({ KeyId: md.KeyId }));
  assert.equal(status.KeyRotationEnabled, false);
  assert.equal(status.KeyId, md.Arn);
  assert.equal(status.RotationPeriodInDays, undefined);
});

test("KeyMaterialId names the material a symmetric key used", async () => {
  const md = (await client.send(new CreateKeyCommand({}))).KeyMetadata;
  assert.match(md.CurrentKeyMaterialId, MATERIAL_ID);
  const dk = await client.send(new GenerateDataKeyCommand({ KeyId: md.KeyId, KeySpec: "AES_256" }));
  assert.equal(dk.KeyMaterialId, md.CurrentKeyMaterialId);
  const dec = await client.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }));
  assert.equal(dec.KeyMaterialId, md.CurrentKeyMaterialId);
});

"""aws-encryption-sdk 4.x against the server (reference §9: the ESDK requires full key ARNs in
GenerateDataKey/Encrypt/Decrypt responses, compares them on decrypt, and sends NumberOfBytes)."""

from __future__ import annotations

import os

import boto3
import botocore.session
import pytest
from aws_encryption_sdk import CommitmentPolicy, EncryptionSDKClient
from aws_encryption_sdk.key_providers.kms import (
    DiscoveryAwsKmsMasterKeyProvider,
    DiscoveryFilter,
    StrictAwsKmsMasterKeyProvider,
)

from kinko_helpers import expect_error

CONTEXT = {"purpose": "esdk-e2e", "tenant": "acme", "ünï": "cødé"}


@pytest.fixture(scope="module")
def esdk_botocore_session(kinko, tmp_path_factory):
    """A plain botocore session that reaches the server only through configuration: the
    shared credentials file written by the server, and `endpoint_url` in the config profile
    (botocore >= 1.31 honours it for every client the ESDK creates)."""
    cfg = tmp_path_factory.mktemp("esdk") / "config"
    cfg.write_text(f"[default]\nendpoint_url = {kinko.endpoint}\n")
    s = botocore.session.Session()
    s.set_config_variable("credentials_file", str(kinko.credentials_file))
    s.set_config_variable("config_file", str(cfg))
    return s


@pytest.fixture(scope="module")
def esdk_client():
    return EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)


def _kms_edks(header):
    return [e for e in header.encrypted_data_keys if e.key_provider.provider_id == "aws-kms"]


def test_esdk_master_key_provider_round_trip(esdk_botocore_session, esdk_client, key, kms, observed_secrets):
    arn = key["Arn"]
    provider = StrictAwsKmsMasterKeyProvider(key_ids=[arn], botocore_session=esdk_botocore_session)
    message = os.urandom(5000) + b"esdk plaintext"
    observed_secrets.append(message)

    ciphertext, enc_header = esdk_client.encrypt(
        source=message, key_provider=provider, encryption_context=CONTEXT, frame_length=1024
    )
    assert message not in ciphertext
    for k, v in CONTEXT.items():
        assert enc_header.encryption_context[k] == v

    edks = _kms_edks(enc_header)
    assert len(edks) == 1
    # The provider info is the key ARN the server returned from GenerateDataKey.
    assert edks[0].key_provider.key_info.decode() == arn

    plaintext, dec_header = esdk_client.decrypt(source=ciphertext, key_provider=provider)
    assert plaintext == message
    for k, v in CONTEXT.items():
        assert dec_header.encryption_context[k] == v
    assert dict(dec_header.encryption_context) == dict(enc_header.encryption_context)

    # The EDK is an ordinary KMS ciphertext bound to the full (serialized) context.
    full_ctx = dict(enc_header.encryption_context)
    r = kms.decrypt(CiphertextBlob=edks[0].encrypted_data_key, EncryptionContext=full_ctx)
    observed_secrets.append(r["Plaintext"])
    assert r["KeyId"] == arn
    assert len(r["Plaintext"]) == 32  # committing suites use 256-bit data keys
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=edks[0].encrypted_data_key)
    partial = {k: v for k, v in full_ctx.items() if k != "purpose"}
    expect_error(
        "InvalidCiphertextException", kms.decrypt, CiphertextBlob=edks[0].encrypted_data_key, EncryptionContext=partial
    )


def test_esdk_discovery_decrypt(esdk_botocore_session, esdk_client, key2, account_id):
    # Discovery picks the client region from the EDK's ARN, so the ARN must be well formed and
    # carry the region/account the server used.
    strict = StrictAwsKmsMasterKeyProvider(key_ids=[key2["Arn"]], botocore_session=esdk_botocore_session)
    ciphertext, _ = esdk_client.encrypt(source=b"discover me", key_provider=strict, encryption_context=CONTEXT)
    discovery = DiscoveryAwsKmsMasterKeyProvider(
        botocore_session=esdk_botocore_session,
        discovery_filter=DiscoveryFilter(account_ids=[account_id], partition="aws"),
    )
    plaintext, header = esdk_client.decrypt(source=ciphertext, key_provider=discovery)
    assert plaintext == b"discover me"
    assert header.encryption_context["tenant"] == "acme"


def test_esdk_keyring(kinko, key, esdk_client):
    # The keyring API comes from the Material Providers Library, pinned in requirements.txt.
    import aws_cryptographic_material_providers.mpl as mpl
    from aws_cryptographic_material_providers.mpl.config import MaterialProvidersConfig
    from aws_cryptographic_material_providers.mpl.models import CreateAwsKmsKeyringInput

    kms_client = boto3.client("kms", region_name="us-east-1", endpoint_url=kinko.endpoint)
    providers = mpl.AwsCryptographicMaterialProviders(config=MaterialProvidersConfig())
    keyring = providers.create_aws_kms_keyring(
        input=CreateAwsKmsKeyringInput(kms_key_id=key["Arn"], kms_client=kms_client)
    )
    ciphertext, _ = esdk_client.encrypt(source=b"keyring message", keyring=keyring, encryption_context=CONTEXT)
    plaintext, header = esdk_client.decrypt(source=ciphertext, keyring=keyring)
    assert plaintext == b"keyring message"
    assert header.encryption_context["purpose"] == "esdk-e2e"

# Vault auto-unseal with the claim's key (Vault's awskms seal). Vault calls
# Encrypt, Decrypt and DescribeKey: the KeyUsers statement grants them to
# every standardUsers ARN, so the role Vault runs as (for example its IRSA
# role, arn:aws:iam::123456789012:role/vault-server in example/claim.yaml)
# must be a standard user of the claim.
#
# kms_key_id is the key id (or ARN) from the claim's status:
#   kubectl get kmsbackend vault-backend -n vault -o jsonpath='{.status.kmsKeyId}'
seal "awskms" {
  region     = "eu-west-1"
  kms_key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
}

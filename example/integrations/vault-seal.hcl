# Vault auto-unseal with the claim's key (Vault's awskms seal). Vault calls
# Encrypt, Decrypt and DescribeKey: the KeyUsers statement grants them to
# every standardUsers ARN, so the role Vault runs as (for example its IRSA
# role, arn:aws:iam::123456789012:role/vault-server in example/claim.yaml)
# must be a standard user of the claim.
#
# kms_key_id takes the key id, its ARN or the alias:
#   kubectl get kmsbackend vault-backend -n vault -o jsonpath='{.status.kmsKeyId}'
seal "awskms" {
  region     = "eu-west-1"
  kms_key_id = "alias/vault-backend"
}

"""moto's server, as moto_server runs it, with its multi-Region keys fixed.

moto 5 gets three things about replicas wrong that provider-aws trips on:

- It shares one MultiRegionConfiguration between a primary key and its
  replicas, and DescribeKey on a replica rewrites its MultiRegionKeyType to
  REPLICA: from then on the primary reads as a replica too, and provider-aws
  fails to observe it ("is not a multi-Region primary key"). Here a key's
  type is computed from its own ARN whenever it is written out, and
  DescribeKey changes nothing.
- A replica shares its primary's aliases (and grants): the primary's alias
  shows in every replica region, with the primary region's ARN, and one
  replica region's alias in the others. Here a replica gets its own.
- ReplicateKey takes only a key id, not the primary's ARN that provider-aws
  passes, and ignores its Description, Policy and Tags: the replica keeps
  the primary's description and policy and has no tags, and provider-aws
  waits forever for its tags. Here they are applied to the replica, as AWS
  does.

Usage: python3 server.py [moto_server flags, e.g. -H 127.0.0.1 -p 18084]
"""

import json
import sys

from moto.kms import models, responses
from moto.server import main

_to_dict = models.Key.to_dict


def to_dict(self):
    d = _to_dict(self)
    meta = d["KeyMetadata"]
    if "MultiRegionConfiguration" in meta:
        config = dict(meta["MultiRegionConfiguration"])
        config["MultiRegionKeyType"] = "PRIMARY" if self.arn == config["PrimaryKey"]["Arn"] else "REPLICA"
        meta["MultiRegionConfiguration"] = config
    return d


def describe_key(self, key_id):
    return self.keys[self.any_id_to_key_id(key_id)]


def replicate_key(self):
    key_id = self.kms_backend.get_key_id(self._get_param("KeyId"))
    self._validate_key_id(key_id)
    key = self.kms_backend.replicate_key(key_id, self._get_param("ReplicaRegion"))
    backend = models.kms_backends[self.current_account][key.region]
    # A replica has aliases, grants and rotations of its own.
    key.aliases, key.grants, key.rotations = {}, {}, []
    if self._get_param("Description") is not None:
        key.description = self._get_param("Description")
    if self._get_param("Policy") is not None:
        key.policy = self._get_param("Policy")
    if self._get_param("Tags"):
        backend.tag_resource(key.id, self._get_param("Tags"))
    return json.dumps({"ReplicaKeyMetadata": key.to_dict()["KeyMetadata"], "ReplicaPolicy": key.policy})


responses.KmsResponse.replicate_key = replicate_key
models.Key.to_dict = to_dict
models.KmsBackend.describe_key = describe_key

if __name__ == "__main__":
    main(sys.argv[1:])

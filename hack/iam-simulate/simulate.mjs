// Judges requests against key policies with @cloud-copilot/iam-simulate, for
// the Go tests (evaluator_test.go). It reads one JSON document from stdin:
//
//   {"policies": ["<key policy JSON>", ...],
//    "requests": [{"policy": 0, "principal": "arn:...", "action": "kms:Decrypt",
//                  "resource": "arn:aws:kms:...:key/...", "account": "123456789012",
//                  "context": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"},
//                  "iamAllowsKms": true}, ...]}
//
// and writes one answer per request, in order, to stdout: the evaluator's
// overall result (Allowed, ExplicitlyDenied or ImplicitlyDenied), or its
// error. iamAllowsKms gives the principal an identity policy allowing kms:*
// on every resource.
import { runSimulation } from '@cloud-copilot/iam-simulate'

const allKms = [{
  name: 'AllowAllKms',
  policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] },
}]

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const { policies, requests } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const parsed = policies.map((p) => JSON.parse(p))

const answers = []
for (const r of requests) {
  const response = await runSimulation({
    identityPolicies: r.iamAllowsKms ? allKms : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: parsed[r.policy],
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.account },
      contextVariables: r.context ?? {},
    },
  }, {})
  answers.push(response.resultType === 'error'
    ? { error: JSON.stringify(response.errors) }
    : { result: response.overallResult })
}
process.stdout.write(JSON.stringify(answers))

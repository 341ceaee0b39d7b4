import KumoAPI
import KumoModel

extension OpenAPIDocument {
    static let schemas: JSONValue = [
        "AnyObject": ["type": "object", "additionalProperties": true],
        "Binary": ["type": "string", "format": "binary"],
        "Error": [
            "type": "object", "required": ["error"],
            "properties": [
                "error": [
                    "type": "object", "required": ["code", "message"],
                    "properties": ["code": ["type": "string"], "message": ["type": "string"], "field": ["type": "string"]],
                ]
            ],
        ],
        "Metadata": [
            "type": "object", "required": ["name"],
            "properties": [
                "name": ["type": "string"], "project": ["type": "string"],
                "labels": ["type": "object", "additionalProperties": ["type": "string"]],
                "annotations": ["type": "object", "additionalProperties": ["type": "string"]],
                "uid": ["type": "string", "readOnly": true], "resourceVersion": ["type": "string"],
                "createdAt": ["type": "string", "readOnly": true],
                "managedFields": ["type": "object", "readOnly": true, "additionalProperties": ["type": "string"]],
            ],
        ],
        "Object": [
            "type": "object", "required": ["metadata"],
            "properties": [
                "apiVersion": ["type": "string", "enum": ["kumo/v1"]],
                "kind": ["type": "string", "enum": .array(Kind.allCases.map { .string($0.rawValue) })],
                "metadata": ["$ref": "#/components/schemas/Metadata"],
                "spec": ["type": "object"], "status": ["type": "object"],
            ],
        ],
        "List": [
            "type": "object",
            "properties": [
                "apiVersion": ["type": "string"], "kind": ["type": "string"],
                "metadata": ["type": "object", "properties": ["revision": ["type": "string"], "continue": ["type": "string"]]],
                "items": ["type": "array", "items": ["$ref": "#/components/schemas/Object"]],
            ],
        ],
        "WatchEvent": [
            "type": "object",
            "properties": [
                "type": ["type": "string", "enum": ["ADDED", "MODIFIED", "DELETED", "ERROR"]],
                "object": ["$ref": "#/components/schemas/Object"],
            ],
        ],
        "History": [
            "type": "object",
            "properties": [
                "kind": ["type": "string"], "project": ["type": "string"], "name": ["type": "string"],
                "items": [
                    "type": "array",
                    "items": [
                        "type": "object",
                        "properties": [
                            "revision": ["type": "integer"], "time": ["type": "string"], "manager": ["type": "string"],
                            "operation": ["type": "string"], "patch": ["type": "array", "items": ["type": "object"]],
                            "forced": ["type": "array", "items": ["type": "object"]],
                        ],
                    ],
                ],
            ],
        ],
        "BackupRequest": [
            "type": "object", "additionalProperties": false,
            "properties": [
                "includeSecretsKey": ["type": "boolean"],
                "passphrase": ["type": "string", "minLength": .number(Double(BackupKeyEnvelope.minimumPassphraseLength))],
            ],
        ],
        "SecretKeyRotation": [
            "type": "object",
            "properties": [
                "activeKeyID": ["type": "string"], "previousKeyIDs": ["type": "array", "items": ["type": "string"]],
                "retiredKeyIDs": ["type": "array", "items": ["type": "string"]], "secrets": ["type": "integer"],
                "resealed": ["type": "integer"],
            ],
        ],
        "TokenRequest": [
            "type": "object", "required": ["role"],
            "properties": [
                "name": ["type": "string"], "project": ["type": "string", "description": "view and edit tokens"],
                "role": ["type": "string", "enum": ["view", "edit", "join"]],
                "ttlSeconds": [
                    "type": "integer", "description": "lifetime; join tokens default to 86400, project tokens to none",
                ],
            ],
        ],
        "BlobInfo": [
            "type": "object",
            "properties": ["digest": ["type": "string"], "size": ["type": "integer"], "created": ["type": "boolean"]],
        ],
        "Descriptor": [
            "type": "object", "required": ["mediaType", "digest", "size"],
            "properties": ["mediaType": ["type": "string"], "digest": ["type": "string"], "size": ["type": "integer"]],
        ],
        "OCIManifest": [
            "type": "object", "required": ["schemaVersion", "config", "layers"],
            "properties": [
                "schemaVersion": ["type": "integer"],
                "mediaType": ["type": "string", "enum": ["application/vnd.oci.image.manifest.v1+json"]],
                "config": ["$ref": "#/components/schemas/Descriptor"],
                "layers": ["type": "array", "items": ["$ref": "#/components/schemas/Descriptor"]],
            ],
        ],
        "JoinRequest": [
            "type": "object", "required": ["node"],
            "properties": [
                "node": ["type": "string"],
                "addresses": [
                    "type": "array", "items": ["type": "string"],
                    "description": "addresses of the agent's endpoint: the SANs of the certificate issued in the answer",
                ],
            ],
        ],
        "AuditList": [
            "type": "object",
            "properties": [
                "items": [
                    "type": "array",
                    "items": [
                        "type": "object",
                        "properties": [
                            "time": ["type": "string"], "reason": ["type": "string"], "who": ["type": "string"],
                            "method": ["type": "string"], "path": ["type": "string"], "source": ["type": "string"],
                            "status": ["type": "integer"], "message": ["type": "string"],
                        ],
                    ],
                ]
            ],
        ],
        "LeaseRequest": [
            "type": "object",
            "properties": [
                "durationSeconds": ["type": "integer", "minimum": 1, "maximum": .number(Double(NodeLeases.durationRange.upperBound))],
                "loadBalancer": [
                    "type": "object",
                    "description": "the store revision of services this node's HAProxy config reflects (kept when left out)",
                    "properties": ["appliedRevision": ["type": "integer", "minimum": 0]],
                ],
            ],
        ],
        "ServiceLoadBalancers": [
            "type": "object",
            "properties": [
                "service": ["type": "string"], "revision": ["type": "integer"], "liveNodes": ["type": "integer"],
                "serving": ["type": "integer"], "laggingCount": ["type": "integer"],
                "lagging": [
                    "type": "array", "description": "at most 100",
                    "items": [
                        "type": "object",
                        "required": ["node"],
                        "description": "appliedRevision and appliedAt are absent while the node has not acknowledged any revision",
                        "properties": ["node": ["type": "string"], "appliedRevision": ["type": "integer"], "appliedAt": ["type": "string"]],
                    ],
                ],
            ],
        ],
        "Lease": [
            "type": "object",
            "properties": [
                "node": ["type": "string"], "holder": ["type": "string"], "renewTime": ["type": "string"],
                "durationSeconds": ["type": "integer"], "revision": ["type": "string"],
                "loadBalancer": [
                    "type": "object",
                    "properties": ["appliedRevision": ["type": "integer"], "appliedAt": ["type": "string"]],
                ],
            ],
        ],
        "Token": [
            "type": "object",
            "properties": [
                "name": ["type": "string"], "project": ["type": "string"], "role": ["type": "string"],
                "identity": ["type": "string"], "createdAt": ["type": "string"], "createdBy": ["type": "string"],
                "expiresAt": ["type": "string"], "lastUsedAt": ["type": "string"],
                "token": [
                    "type": "string",
                    "description": "only when created; join tokens read K10<sha256 of the cluster CA>::<secret>",
                ],
                "serverCredential": ["type": "string", "description": "join answers only"],
                "agentCertificate": ["type": "string", "description": "join answers only: PEM chain signed by the cluster CA"],
                "agentKey": ["type": "string", "description": "join answers only: PEM private key"],
            ],
        ],
        "TokenList": ["type": "object", "properties": ["items": ["type": "array", "items": ["$ref": "#/components/schemas/Token"]]]],
        "Version": ["type": "object", "properties": ["version": ["type": "string"], "apiVersion": ["type": "string"]]],
    ]
}

/// The OpenAPI 3.1 document of the whole HTTP API, served at `GET /openapi.json`. A test runs schemathesis
/// against a live server with it: no request may produce a 5xx or an answer that breaks this document.
enum OpenAPIDocument {
    static let json = #"""
{
 "components": {
  "responses": {
   "E400": {
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    },
    "description": "Malformed request"
   },
   "E401": {
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    },
    "description": "No or bad credentials"
   },
   "E403": {
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    },
    "description": "Wrong role"
   },
   "E404": {
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    },
    "description": "Not found (or another tenant's)"
   },
   "E409": {
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    },
    "description": "Conflict (a finished job, a stale lease)"
   },
   "E413": {
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    },
    "description": "Body too large"
   },
   "E422": {
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    },
    "description": "Valid JSON that cannot be accepted"
   },
   "E429": {
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    },
    "description": "Rate limited (see Retry-After)"
   },
   "E503": {
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    },
    "description": "Store unavailable (see Retry-After)"
   }
  },
  "schemas": {
   "Error": {
    "properties": {
     "error": {
      "properties": {
       "code": {
        "type": "string"
       },
       "items": {
        "items": {
         "type": "object"
        },
        "type": "array"
       },
       "message": {
        "type": "string"
       }
      },
      "required": [
       "code",
       "message"
      ],
      "type": "object"
     }
    },
    "required": [
     "error"
    ],
    "type": "object"
   },
   "Event": {
    "properties": {
     "at": {
      "format": "date-time",
      "type": "string"
     },
     "data": {},
     "jobId": {
      "type": "string"
     },
     "kind": {
      "enum": [
       "status",
       "progress",
       "log",
       "token",
       "completed",
       "failed",
       "cancelled"
      ]
     },
     "seq": {
      "type": "integer"
     }
    },
    "required": [
     "jobId",
     "seq",
     "kind",
     "data",
     "at"
    ],
    "type": "object"
   },
   "EventList": {
    "properties": {
     "events": {
      "items": {
       "$ref": "#/components/schemas/Event"
      },
      "type": "array"
     },
     "nextCursor": {
      "type": [
       "string",
       "null"
      ]
     }
    },
    "required": [
     "events",
     "nextCursor"
    ],
    "type": "object"
   },
   "EventReport": {
    "properties": {
     "data": {},
     "kind": {
      "enum": [
       "progress",
       "log",
       "token"
      ]
     }
    },
    "required": [
     "kind"
    ],
    "type": "object"
   },
   "Job": {
    "properties": {
     "attempt": {
      "type": "integer"
     },
     "cachedFrom": {
      "type": "string"
     },
     "cancelRequested": {
      "type": "boolean"
     },
     "completedAt": {
      "format": "date-time",
      "type": "string"
     },
     "createdAt": {
      "format": "date-time",
      "type": "string"
     },
     "data": {},
     "error": {
      "type": "string"
     },
     "errors": {
      "items": {
       "properties": {
        "at": {
         "format": "date-time",
         "type": "string"
        },
        "attempt": {
         "type": "integer"
        },
        "error": {
         "type": "string"
        }
       },
       "required": [
        "attempt",
        "error",
        "at"
       ],
       "type": "object"
      },
      "type": "array"
     },
     "idempotencyKey": {
      "type": "string"
     },
     "jobId": {
      "type": "string"
     },
     "maxAttempts": {
      "type": "integer"
     },
     "message": {
      "type": "string"
     },
     "options": {
      "type": "object"
     },
     "priority": {
      "type": "integer"
     },
     "processingType": {
      "type": "string"
     },
     "progress": {
      "maximum": 100,
      "minimum": 0,
      "type": "integer"
     },
     "queue": {
      "type": "string"
     },
     "result": {},
     "runAt": {
      "format": "date-time",
      "type": "string"
     },
     "startedAt": {
      "format": "date-time",
      "type": "string"
     },
     "status": {
      "enum": [
       "PENDING",
       "PROCESSING",
       "COMPLETED",
       "FAILED",
       "CANCELLED"
      ]
     },
     "tenant": {
      "type": "string"
     },
     "timeoutSeconds": {
      "type": "integer"
     },
     "workerId": {
      "type": "string"
     }
    },
    "required": [
     "jobId",
     "processingType",
     "queue",
     "status",
     "progress",
     "attempt",
     "maxAttempts",
     "priority",
     "runAt",
     "tenant",
     "createdAt",
     "errors",
     "cancelRequested"
    ],
    "type": "object"
   },
   "JobList": {
    "properties": {
     "jobs": {
      "items": {
       "$ref": "#/components/schemas/Job"
      },
      "type": "array"
     },
     "nextCursor": {
      "type": [
       "string",
       "null"
      ]
     }
    },
    "required": [
     "jobs",
     "nextCursor"
    ],
    "type": "object"
   },
   "JobOptions": {
    "properties": {
     "cache": {
      "properties": {
       "ttlSeconds": {
        "minimum": 1,
        "type": "integer"
       }
      },
      "required": [
       "ttlSeconds"
      ],
      "type": "object"
     },
     "delaySeconds": {
      "minimum": 0,
      "type": "integer"
     },
     "idempotencyKey": {
      "maxLength": 255,
      "minLength": 1,
      "type": "string"
     },
     "labels": {
      "additionalProperties": {
       "type": "string"
      },
      "type": "object"
     },
     "maxAttempts": {
      "maximum": 100,
      "minimum": 1,
      "type": "integer"
     },
     "mode": {
      "enum": [
       "direct",
       "distributed",
       "any"
      ]
     },
     "priority": {
      "maximum": 1000,
      "minimum": -1000,
      "type": "integer"
     },
     "queue": {
      "pattern": "^[A-Za-z0-9._-]{1,64}$",
      "type": "string"
     },
     "runAt": {
      "format": "date-time",
      "type": "string"
     },
     "timeoutSeconds": {
      "minimum": 1,
      "type": "integer"
     },
     "webhookUrl": {
      "format": "uri",
      "type": "string"
     }
    },
    "required": [],
    "type": "object"
   },
   "JobSubmission": {
    "properties": {
     "data": {},
     "options": {
      "$ref": "#/components/schemas/JobOptions"
     },
     "processingType": {
      "maxLength": 64,
      "minLength": 1,
      "type": "string"
     },
     "template": {
      "type": "string"
     }
    },
    "required": [
     "processingType"
    ],
    "type": "object"
   },
   "Key": {
    "properties": {
     "createdAt": {
      "format": "date-time",
      "type": "string"
     },
     "id": {
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "role": {
      "enum": [
       "client",
       "worker",
       "admin"
      ]
     },
     "tenant": {
      "type": "string"
     }
    },
    "required": [
     "id",
     "name",
     "role",
     "tenant",
     "createdAt"
    ],
    "type": "object"
   },
   "LeasedJob": {
    "allOf": [
     {
      "$ref": "#/components/schemas/Job"
     },
     {
      "properties": {
       "leaseExpiresAt": {
        "format": "date-time",
        "type": "string"
       },
       "leaseToken": {
        "type": "string"
       }
      },
      "required": [
       "leaseToken",
       "leaseExpiresAt"
      ],
      "type": "object"
     }
    ]
   },
   "Schedule": {
    "properties": {
     "createdAt": {
      "format": "date-time",
      "type": "string"
     },
     "cron": {
      "type": "string"
     },
     "data": {},
     "name": {
      "type": "string"
     },
     "nextRunAt": {
      "format": "date-time",
      "type": "string"
     },
     "options": {
      "type": "object"
     },
     "processingType": {
      "type": "string"
     },
     "queue": {
      "type": "string"
     },
     "tenant": {
      "type": "string"
     }
    },
    "required": [
     "name",
     "cron",
     "processingType",
     "nextRunAt"
    ],
    "type": "object"
   },
   "ServerSentEvent": {
    "description": "One event of a job's stream (OpenAPI 3.1: the schema of each event): `id` is the event's seq (absent on a snapshot sent after Last-Event-ID), `data` the event's JSON; keep-alive comments carry no event",
    "properties": {
     "data": {
      "contentMediaType": "application/json",
      "type": "string"
     },
     "event": {
      "enum": [
       "snapshot",
       "status",
       "progress",
       "log",
       "token",
       "completed",
       "failed",
       "cancelled"
      ],
      "type": "string"
     },
     "id": {
      "pattern": "^[0-9]+$",
      "type": "string"
     }
    },
    "required": [
     "event",
     "data"
    ],
    "type": "object"
   },
   "Worker": {
    "properties": {
     "currentJobs": {
      "items": {
       "type": "string"
      },
      "type": "array"
     },
     "labels": {
      "additionalProperties": {
       "type": "string"
      },
      "type": "object"
     },
     "lastHeartbeatAt": {
      "format": "date-time",
      "type": "string"
     },
     "maxConcurrentJobs": {
      "type": "integer"
     },
     "name": {
      "type": "string"
     },
     "processingTypes": {
      "items": {
       "type": "string"
      },
      "type": "array"
     },
     "registeredAt": {
      "format": "date-time",
      "type": "string"
     },
     "status": {
      "enum": [
       "active",
       "paused",
       "draining",
       "offline"
      ]
     },
     "workerId": {
      "type": "string"
     }
    },
    "required": [
     "workerId",
     "name",
     "processingTypes",
     "labels",
     "maxConcurrentJobs",
     "status",
     "currentJobs",
     "registeredAt",
     "lastHeartbeatAt"
    ],
    "type": "object"
   }
  },
  "securitySchemes": {
   "apiKey": {
    "in": "header",
    "name": "X-API-Key",
    "type": "apiKey"
   },
   "bearer": {
    "bearerFormat": "JWT",
    "scheme": "bearer",
    "type": "http"
   }
  }
 },
 "info": {
  "description": "A self-hosted job server: submit work, lease it to workers, follow it live over SSE.",
  "title": "Offload",
  "version": "1.0.0"
 },
 "openapi": "3.1.0",
 "paths": {
  "/api/auth/token": {
   "post": {
    "operationId": "createToken",
    "parameters": [
     {
      "in": "header",
      "name": "X-API-Key",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "expiresIn": {
           "type": "integer"
          },
          "token": {
           "type": "string"
          }
         },
         "required": [
          "token",
          "expiresIn"
         ],
         "type": "object"
        }
       }
      },
      "description": "A token"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "security": [],
    "summary": "Exchange an API key (X-API-Key) for a JWT",
    "tags": [
     "jobs"
    ]
   }
  },
  "/api/files": {
   "post": {
    "operationId": "uploadFile",
    "requestBody": {
     "content": {
      "application/octet-stream": {
       "schema": {
        "format": "binary",
        "type": "string"
       }
      },
      "application/zip": {
       "schema": {
        "format": "binary",
        "type": "string"
       }
      }
     },
     "required": true
    },
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "fileId": {
           "type": "string"
          },
          "sha256": {
           "type": "string"
          },
          "size": {
           "type": "integer"
          }
         },
         "required": [
          "fileId",
          "size",
          "sha256"
         ],
         "type": "object"
        }
       }
      },
      "description": "Stored"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "422": {
      "$ref": "#/components/responses/E422"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Upload a ZIP bundle for shell jobs",
    "tags": [
     "jobs"
    ]
   }
  },
  "/api/files/{id}": {
   "get": {
    "operationId": "downloadFile",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/zip": {
        "schema": {
         "format": "binary",
         "type": "string"
        }
       }
      },
      "description": "The ZIP"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Download a bundle",
    "tags": [
     "workers"
    ]
   }
  },
  "/api/jobs": {
   "get": {
    "operationId": "listJobs",
    "parameters": [
     {
      "description": "",
      "in": "query",
      "name": "status",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "description": "",
      "in": "query",
      "name": "type",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "description": "",
      "in": "query",
      "name": "queue",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "description": "",
      "in": "query",
      "name": "limit",
      "required": false,
      "schema": {
       "maximum": 1000,
       "minimum": 1,
       "type": "integer"
      }
     },
     {
      "description": "",
      "in": "query",
      "name": "cursor",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/JobList"
        }
       }
      },
      "description": "A page"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Job history, newest first",
    "tags": [
     "jobs"
    ]
   },
   "post": {
    "operationId": "submitJob",
    "parameters": [
     {
      "description": "",
      "in": "query",
      "name": "wait",
      "required": false,
      "schema": {
       "maximum": 300,
       "minimum": 0,
       "type": "integer"
      }
     },
     {
      "description": "",
      "in": "query",
      "name": "stream",
      "required": false,
      "schema": {
       "type": "boolean"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/JobSubmission"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Job"
        }
       },
       "text/event-stream": {
        "schema": {
         "$ref": "#/components/schemas/ServerSentEvent"
        }
       }
      },
      "description": "The earlier job of a repeated idempotency key, the finished job (?wait), or its SSE stream (?stream=true)"
     },
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Job"
        }
       }
      },
      "description": "The job"
     },
     "202": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Job"
        }
       }
      },
      "description": "?wait ran out: the job as it is"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "422": {
      "$ref": "#/components/responses/E422"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Submit a job",
    "tags": [
     "jobs"
    ]
   }
  },
  "/api/jobs/batch": {
   "post": {
    "operationId": "submitBatch",
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "jobs": {
          "items": {
           "$ref": "#/components/schemas/JobSubmission"
          },
          "maxItems": 1000,
          "minItems": 1,
          "type": "array"
         }
        },
        "required": [
         "jobs"
        ],
        "type": "object"
       }
      }
     },
     "required": true
    },
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "jobs": {
           "items": {
            "$ref": "#/components/schemas/Job"
           },
           "type": "array"
          }
         },
         "required": [
          "jobs"
         ],
         "type": "object"
        }
       }
      },
      "description": "The jobs in order"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "422": {
      "$ref": "#/components/responses/E422"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Submit up to 1,000 jobs in one transaction",
    "tags": [
     "jobs"
    ]
   }
  },
  "/api/jobs/{id}": {
   "get": {
    "operationId": "getJob",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Job"
        }
       }
      },
      "description": "The job"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "One job",
    "tags": [
     "jobs"
    ]
   }
  },
  "/api/jobs/{id}/cancel": {
   "post": {
    "operationId": "cancelJob",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Job"
        }
       }
      },
      "description": "The job"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "409": {
      "$ref": "#/components/responses/E409"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Cancel a job",
    "tags": [
     "jobs"
    ]
   }
  },
  "/api/jobs/{id}/complete": {
   "post": {
    "operationId": "completeJob",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "leaseToken": {
          "minLength": 1,
          "type": "string"
         },
         "result": {}
        },
        "required": [
         "leaseToken"
        ],
        "type": "object"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Job"
        }
       }
      },
      "description": "The job"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "409": {
      "$ref": "#/components/responses/E409"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "End an attempt with a result (worker)",
    "tags": [
     "workers"
    ]
   }
  },
  "/api/jobs/{id}/events": {
   "get": {
    "operationId": "listEvents",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     },
     {
      "description": "",
      "in": "query",
      "name": "after",
      "required": false,
      "schema": {
       "minimum": 0,
       "type": "integer"
      }
     },
     {
      "description": "",
      "in": "query",
      "name": "limit",
      "required": false,
      "schema": {
       "maximum": 1000,
       "minimum": 1,
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/EventList"
        }
       }
      },
      "description": "Events after `after`"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "A job's events as JSON",
    "tags": [
     "jobs"
    ]
   },
   "post": {
    "operationId": "reportEvents",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "events": {
          "items": {
           "$ref": "#/components/schemas/EventReport"
          },
          "maxItems": 10000,
          "type": "array"
         },
         "leaseToken": {
          "minLength": 1,
          "type": "string"
         }
        },
        "required": [
         "leaseToken",
         "events"
        ],
        "type": "object"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "cancelRequested": {
           "type": "boolean"
          },
          "events": {
           "type": "integer"
          }
         },
         "required": [
          "events",
          "cancelRequested"
         ],
         "type": "object"
        }
       }
      },
      "description": "Appended"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "409": {
      "$ref": "#/components/responses/E409"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "422": {
      "$ref": "#/components/responses/E422"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Report progress, log lines and tokens (worker)",
    "tags": [
     "workers"
    ]
   }
  },
  "/api/jobs/{id}/fail": {
   "post": {
    "operationId": "failJob",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "error": {
          "minLength": 1,
          "type": "string"
         },
         "leaseToken": {
          "minLength": 1,
          "type": "string"
         },
         "result": {},
         "retry": {
          "type": "boolean"
         },
         "retryAfterSeconds": {
          "minimum": 0,
          "type": "number"
         }
        },
        "required": [
         "leaseToken",
         "error"
        ],
        "type": "object"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Job"
        }
       }
      },
      "description": "The job"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "409": {
      "$ref": "#/components/responses/E409"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "End an attempt with an error (worker)",
    "tags": [
     "workers"
    ]
   }
  },
  "/api/jobs/{id}/release": {
   "post": {
    "operationId": "releaseJob",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "leaseToken": {
          "minLength": 1,
          "type": "string"
         }
        },
        "required": [
         "leaseToken"
        ],
        "type": "object"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Job"
        }
       }
      },
      "description": "The job"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "409": {
      "$ref": "#/components/responses/E409"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Hand a leased job back (worker)",
    "tags": [
     "workers"
    ]
   }
  },
  "/api/jobs/{id}/retry": {
   "post": {
    "operationId": "retryJob",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Job"
        }
       }
      },
      "description": "The job"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "409": {
      "$ref": "#/components/responses/E409"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Run a FAILED or CANCELLED job again",
    "tags": [
     "jobs"
    ]
   }
  },
  "/api/jobs/{id}/stream-token": {
   "post": {
    "operationId": "createStreamToken",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "expiresIn": {
           "type": "integer"
          },
          "token": {
           "type": "string"
          },
          "url": {
           "type": "string"
          }
         },
         "required": [
          "token",
          "expiresIn",
          "url"
         ],
         "type": "object"
        }
       }
      },
      "description": "The token"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "A short-lived token that reads only this job",
    "tags": [
     "jobs"
    ]
   }
  },
  "/api/keys": {
   "get": {
    "operationId": "listKeys",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "keys": {
           "items": {
            "$ref": "#/components/schemas/Key"
           },
           "type": "array"
          }
         },
         "required": [
          "keys"
         ],
         "type": "object"
        }
       }
      },
      "description": "Keys"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Every API key, never its secret (admin)",
    "tags": [
     "admin"
    ]
   },
   "post": {
    "operationId": "createKey",
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "name": {
          "minLength": 1,
          "type": "string"
         },
         "role": {
          "enum": [
           "client",
           "worker",
           "admin"
          ]
         },
         "tenant": {
          "minLength": 1,
          "type": "string"
         }
        },
        "required": [
         "name",
         "role"
        ],
        "type": "object"
       }
      }
     },
     "required": true
    },
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Key"
          },
          {
           "properties": {
            "secret": {
             "type": "string"
            }
           },
           "required": [
            "secret"
           ],
           "type": "object"
          }
         ]
        }
       }
      },
      "description": "The key with its secret"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "422": {
      "$ref": "#/components/responses/E422"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Create an API key (admin); its secret is shown once",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/keys/{id}": {
   "delete": {
    "operationId": "deleteKey",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "204": {
      "description": "Deleted"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Delete an API key (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/queues": {
   "get": {
    "operationId": "listQueues",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "queues": {
           "items": {
            "properties": {
             "paused": {
              "type": "boolean"
             },
             "queue": {
              "type": "string"
             }
            },
            "required": [
             "queue",
             "paused"
            ],
            "type": "object"
           },
           "type": "array"
          }
         },
         "required": [
          "queues"
         ],
         "type": "object"
        }
       }
      },
      "description": "Queues"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Paused queues (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/queues/{name}/pause": {
   "post": {
    "operationId": "pauseQueue",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "paused": {
           "type": "boolean"
          },
          "queue": {
           "type": "string"
          }
         },
         "required": [
          "queue",
          "paused"
         ],
         "type": "object"
        }
       }
      },
      "description": "The queue"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "422": {
      "$ref": "#/components/responses/E422"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Pause a queue (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/queues/{name}/resume": {
   "post": {
    "operationId": "resumeQueue",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "paused": {
           "type": "boolean"
          },
          "queue": {
           "type": "string"
          }
         },
         "required": [
          "queue",
          "paused"
         ],
         "type": "object"
        }
       }
      },
      "description": "The queue"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "422": {
      "$ref": "#/components/responses/E422"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Resume a queue (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/schedules": {
   "get": {
    "operationId": "listSchedules",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      },
      "description": "Schedules"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Every schedule (admin)",
    "tags": [
     "admin"
    ]
   },
   "post": {
    "operationId": "saveSchedule",
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "cron": {
          "type": "string"
         },
         "data": {},
         "name": {
          "type": "string"
         },
         "options": {
          "type": "object"
         },
         "processingType": {
          "type": "string"
         },
         "queue": {
          "type": "string"
         }
        },
        "required": [
         "name",
         "cron",
         "processingType"
        ],
        "type": "object"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Schedule"
        }
       }
      },
      "description": "Replaced"
     },
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Schedule"
        }
       }
      },
      "description": "Saved"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "422": {
      "$ref": "#/components/responses/E422"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Save a recurring job (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/schedules/{name}": {
   "delete": {
    "operationId": "deleteSchedule",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "204": {
      "description": "Deleted"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Delete a schedule (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/sse/job-progress/{id}": {
   "get": {
    "operationId": "followJob",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     },
     {
      "description": "a stream token",
      "in": "query",
      "name": "token",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "description": "",
      "in": "query",
      "name": "lastEventId",
      "required": false,
      "schema": {
       "minimum": 0,
       "type": "integer"
      }
     },
     {
      "in": "header",
      "name": "Last-Event-ID",
      "required": false,
      "schema": {
       "minimum": 0,
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "text/event-stream": {
        "schema": {
         "$ref": "#/components/schemas/ServerSentEvent"
        }
       }
      },
      "description": "snapshot, then each event (id: seq), keep-alives, closed after the final event"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Follow a job over Server-Sent Events",
    "tags": [
     "jobs"
    ]
   }
  },
  "/api/stats": {
   "get": {
    "operationId": "stats",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "lastHour": {
           "type": "object"
          },
          "queues": {
           "items": {
            "type": "object"
           },
           "type": "array"
          },
          "types": {
           "items": {
            "type": "object"
           },
           "type": "array"
          },
          "windowSeconds": {
           "type": "integer"
          },
          "workers": {
           "type": "object"
          }
         },
         "required": [
          "queues",
          "types",
          "lastHour",
          "workers"
         ],
         "type": "object"
        }
       }
      },
      "description": "Stats"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Queue and type counts, last hour's percentiles, workers (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/stats/series": {
   "get": {
    "operationId": "statsSeries",
    "parameters": [
     {
      "description": "How many minutes back, the current one last (default 60)",
      "in": "query",
      "name": "minutes",
      "required": false,
      "schema": {
       "maximum": 1440,
       "minimum": 1,
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "bucketSeconds": {
           "type": "integer"
          },
          "buckets": {
           "items": {
            "properties": {
             "at": {
              "format": "date-time",
              "type": "string"
             },
             "cancelled": {
              "type": "integer"
             },
             "completed": {
              "type": "integer"
             },
             "failed": {
              "type": "integer"
             },
             "runMs": {
              "properties": {
               "p50": {
                "type": [
                 "integer",
                 "null"
                ]
               },
               "p95": {
                "type": [
                 "integer",
                 "null"
                ]
               },
               "p99": {
                "type": [
                 "integer",
                 "null"
                ]
               }
              },
              "required": [
               "p50",
               "p95",
               "p99"
              ],
              "type": "object"
             },
             "waitMs": {
              "properties": {
               "p50": {
                "type": [
                 "integer",
                 "null"
                ]
               },
               "p95": {
                "type": [
                 "integer",
                 "null"
                ]
               },
               "p99": {
                "type": [
                 "integer",
                 "null"
                ]
               }
              },
              "required": [
               "p50",
               "p95",
               "p99"
              ],
              "type": "object"
             }
            },
            "required": [
             "at",
             "completed",
             "failed",
             "cancelled",
             "waitMs",
             "runMs"
            ],
            "type": "object"
           },
           "type": "array"
          }
         },
         "required": [
          "bucketSeconds",
          "buckets"
         ],
         "type": "object"
        }
       }
      },
      "description": "One bucket per minute, oldest first"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Per minute: jobs finished, wait and run time percentiles (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/templates": {
   "get": {
    "operationId": "listTemplates",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      },
      "description": "Templates"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Every template (admin)",
    "tags": [
     "admin"
    ]
   },
   "post": {
    "operationId": "saveTemplate",
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "data": {},
         "name": {
          "type": "string"
         },
         "options": {
          "type": "object"
         },
         "processingType": {
          "type": "string"
         },
         "queue": {
          "type": "string"
         }
        },
        "required": [
         "name",
         "processingType"
        ],
        "type": "object"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      },
      "description": "Replaced"
     },
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      },
      "description": "Saved"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "422": {
      "$ref": "#/components/responses/E422"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Save a job template (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/templates/{name}": {
   "delete": {
    "operationId": "deleteTemplate",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "204": {
      "description": "Deleted"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Delete a template (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/types": {
   "get": {
    "operationId": "listTypes",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "types": {
           "items": {
            "properties": {
             "enabled": {
              "type": "boolean"
             },
             "fallback": {
              "enum": [
               "refuse",
               "sync"
              ]
             },
             "processingType": {
              "type": "string"
             }
            },
            "required": [
             "processingType",
             "enabled"
            ],
            "type": "object"
           },
           "type": "array"
          }
         },
         "required": [
          "types"
         ],
         "type": "object"
        }
       }
      },
      "description": "Types"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Processing types and their switches (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/types/{type}": {
   "put": {
    "operationId": "setType",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "type",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "enabled": {
          "type": "boolean"
         },
         "fallback": {
          "enum": [
           "refuse",
           "sync"
          ]
         }
        },
        "required": [
         "enabled"
        ],
        "type": "object"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "enabled": {
           "type": "boolean"
          },
          "fallback": {
           "enum": [
            "refuse",
            "sync"
           ]
          },
          "processingType": {
           "type": "string"
          }
         },
         "required": [
          "processingType",
          "enabled"
         ],
         "type": "object"
        }
       }
      },
      "description": "The switch"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "422": {
      "$ref": "#/components/responses/E422"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Switch a processing type on or off (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/workers": {
   "get": {
    "operationId": "listWorkers",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "nextCursor": {
           "type": [
            "string",
            "null"
           ]
          },
          "workers": {
           "items": {
            "$ref": "#/components/schemas/Worker"
           },
           "type": "array"
          }
         },
         "required": [
          "workers"
         ],
         "type": "object"
        }
       }
      },
      "description": "Workers"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "The worker registry (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/workers/register": {
   "post": {
    "operationId": "registerWorker",
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "labels": {
          "additionalProperties": {
           "type": "string"
          },
          "type": "object"
         },
         "maxConcurrentJobs": {
          "maximum": 1000,
          "minimum": 1,
          "type": "integer"
         },
         "name": {
          "maxLength": 128,
          "minLength": 1,
          "type": "string"
         },
         "processingTypes": {
          "items": {
           "maxLength": 64,
           "minLength": 1,
           "type": "string"
          },
          "maxItems": 200,
          "minItems": 1,
          "type": "array"
         },
         "workerId": {
          "type": "string"
         }
        },
        "required": [
         "name",
         "processingTypes"
        ],
        "type": "object"
       }
      }
     },
     "required": true
    },
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "heartbeatIntervalSeconds": {
           "type": "integer"
          },
          "leaseSeconds": {
           "type": "integer"
          },
          "workerId": {
           "type": "string"
          }
         },
         "required": [
          "workerId"
         ],
         "type": "object"
        }
       }
      },
      "description": "Registered"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "422": {
      "$ref": "#/components/responses/E422"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Register a worker",
    "tags": [
     "workers"
    ]
   }
  },
  "/api/workers/{id}": {
   "delete": {
    "operationId": "deregisterWorker",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "204": {
      "description": "Gone"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Leave the registry",
    "tags": [
     "workers"
    ]
   },
   "get": {
    "operationId": "getWorker",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Worker"
        }
       }
      },
      "description": "The worker"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "One worker (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/workers/{id}/heartbeat": {
   "post": {
    "operationId": "heartbeat",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "jobIds": {
          "items": {
           "type": "string"
          },
          "maxItems": 10000,
          "type": "array"
         },
         "status": {
          "enum": [
           "draining"
          ]
         }
        },
        "required": [],
        "type": "object"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "cancel": {
           "items": {
            "type": "string"
           },
           "type": "array"
          }
         },
         "required": [
          "cancel"
         ],
         "type": "object"
        }
       }
      },
      "description": "Jobs to stop"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "422": {
      "$ref": "#/components/responses/E422"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Keep a worker and its leases alive",
    "tags": [
     "workers"
    ]
   }
  },
  "/api/workers/{id}/lease": {
   "post": {
    "operationId": "lease",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     },
     {
      "description": "",
      "in": "query",
      "name": "wait",
      "required": false,
      "schema": {
       "maximum": 60,
       "minimum": 0,
       "type": "integer"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "jobIds": {
          "items": {
           "type": "string"
          },
          "maxItems": 10000,
          "type": "array"
         },
         "limit": {
          "maximum": 1000,
          "minimum": 0,
          "type": "integer"
         }
        },
        "required": [],
        "type": "object"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "cancel": {
           "items": {
            "type": "string"
           },
           "type": "array"
          },
          "jobs": {
           "items": {
            "$ref": "#/components/schemas/LeasedJob"
           },
           "type": "array"
          }
         },
         "required": [
          "jobs",
          "cancel"
         ],
         "type": "object"
        }
       }
      },
      "description": "Jobs, and running jobs to stop"
     },
     "204": {
      "description": "Nothing came within the wait"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "413": {
      "$ref": "#/components/responses/E413"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Long-poll for jobs",
    "tags": [
     "workers"
    ]
   }
  },
  "/api/workers/{id}/pause": {
   "post": {
    "operationId": "pauseWorker",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Worker"
        }
       }
      },
      "description": "The worker"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Pause a worker (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/workers/{id}/resume": {
   "post": {
    "operationId": "resumeWorker",
    "parameters": [
     {
      "description": "",
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "maxLength": 200,
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Worker"
        }
       }
      },
      "description": "The worker"
     },
     "400": {
      "$ref": "#/components/responses/E400"
     },
     "401": {
      "$ref": "#/components/responses/E401"
     },
     "403": {
      "$ref": "#/components/responses/E403"
     },
     "404": {
      "$ref": "#/components/responses/E404"
     },
     "429": {
      "$ref": "#/components/responses/E429"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "summary": "Resume a worker (admin)",
    "tags": [
     "admin"
    ]
   }
  },
  "/api/workers/{id}/sync": {
   "operationId": "syncWorker",
   "parameters": [
    {
     "description": "",
     "in": "path",
     "name": "id",
     "required": true,
     "schema": {
      "maxLength": 200,
      "type": "string"
     }
    },
    {
     "description": "Seconds to wait for a job when the sync carries no report and nothing must stop (default 0)",
     "in": "query",
     "name": "wait",
     "required": false,
     "schema": {
      "maximum": 60,
      "minimum": 0,
      "type": "integer"
     }
    }
   ],
   "requestBody": {
    "content": {
     "application/json": {
      "schema": {
       "properties": {
        "lease": {
         "maximum": 1000,
         "minimum": 0,
         "type": "integer"
        },
        "reports": {
         "items": {
          "properties": {
           "end": {
            "enum": [
             "complete",
             "fail",
             "release"
            ],
            "type": "string"
           },
           "error": {
            "minLength": 1,
            "type": "string"
           },
           "events": {
            "items": {
             "$ref": "#/components/schemas/EventReport"
            },
            "maxItems": 10000,
            "type": "array"
           },
           "jobId": {
            "maxLength": 200,
            "type": "string"
           },
           "leaseToken": {
            "minLength": 1,
            "type": "string"
           },
           "result": {},
           "retry": {
            "type": "boolean"
           },
           "retryAfterSeconds": {
            "minimum": 0,
            "type": "number"
           }
          },
          "required": [
           "jobId",
           "leaseToken"
          ],
          "type": "object"
         },
         "maxItems": 10000,
         "type": "array"
        },
        "running": {
         "items": {
          "type": "string"
         },
         "maxItems": 10000,
         "type": "array"
        }
       },
       "required": [
        "running"
       ],
       "type": "object"
      }
     }
    },
    "required": true
   },
   "responses": {
    "200": {
     "content": {
      "application/json": {
       "schema": {
        "properties": {
         "cancel": {
          "items": {
           "type": "string"
          },
          "type": "array"
         },
         "jobs": {
          "items": {
           "$ref": "#/components/schemas/LeasedJob"
          },
          "type": "array"
         },
         "reports": {
          "items": {
           "properties": {
            "cancelRequested": {
             "type": "boolean"
            },
            "error": {
             "properties": {
              "code": {
               "type": "string"
              },
              "message": {
               "type": "string"
              }
             },
             "required": [
              "code",
              "message"
             ],
             "type": "object"
            },
            "jobId": {
             "type": "string"
            },
            "ok": {
             "type": "boolean"
            }
           },
           "required": [
            "jobId",
            "ok"
           ],
           "type": "object"
          },
          "type": "array"
         }
        },
        "required": [
         "reports",
         "jobs",
         "cancel"
        ],
        "type": "object"
       }
      }
     },
     "description": "Each report's outcome in order, new leases, running jobs to stop"
    },
    "400": {
     "$ref": "#/components/responses/E400"
    },
    "401": {
     "$ref": "#/components/responses/E401"
    },
    "403": {
     "$ref": "#/components/responses/E403"
    },
    "404": {
     "$ref": "#/components/responses/E404"
    },
    "413": {
     "$ref": "#/components/responses/E413"
    },
    "429": {
     "$ref": "#/components/responses/E429"
    },
    "503": {
     "$ref": "#/components/responses/E503"
    }
   },
   "summary": "The session protocol: many reports, the running jobs and the free slots in one round trip; the answer carries each report's outcome, new leases and the jobs to stop",
   "tags": [
    "workers"
   ]
  },
  "/health": {
   "get": {
    "operationId": "health",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      },
      "description": "Alive"
     }
    },
    "security": [],
    "summary": "Liveness",
    "tags": [
     "operations"
    ]
   }
  },
  "/metrics": {
   "get": {
    "operationId": "metrics",
    "responses": {
     "200": {
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      },
      "description": "Prometheus text"
     }
    },
    "security": [],
    "summary": "Prometheus metrics",
    "tags": [
     "operations"
    ]
   }
  },
  "/openapi.json": {
   "get": {
    "operationId": "openapi",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      },
      "description": "OpenAPI 3.1"
     }
    },
    "security": [],
    "summary": "This document",
    "tags": [
     "operations"
    ]
   }
  },
  "/ready": {
   "get": {
    "operationId": "ready",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      },
      "description": "Ready"
     },
     "503": {
      "$ref": "#/components/responses/E503"
     }
    },
    "security": [],
    "summary": "Readiness: the store answers",
    "tags": [
     "operations"
    ]
   }
  }
 },
 "security": [
  {
   "apiKey": []
  },
  {
   "bearer": []
  }
 ],
 "servers": [
  {
   "url": "/"
  }
 ],
 "tags": [
  {
   "name": "jobs"
  },
  {
   "name": "workers"
  },
  {
   "name": "admin"
  },
  {
   "name": "operations"
  }
 ]
}
"""#
}

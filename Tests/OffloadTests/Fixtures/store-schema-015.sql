PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
INSERT INTO grdb_migrations VALUES('001_jobs_events_keys');
INSERT INTO grdb_migrations VALUES('002_pending_by_run_at');
INSERT INTO grdb_migrations VALUES('003_attempt_errors');
INSERT INTO grdb_migrations VALUES('004_finished_by_time');
INSERT INTO grdb_migrations VALUES('005_queue_and_type_flags');
INSERT INTO grdb_migrations VALUES('006_result_cache');
INSERT INTO grdb_migrations VALUES('007_job_templates');
INSERT INTO grdb_migrations VALUES('008_schedules');
INSERT INTO grdb_migrations VALUES('009_webhook_deliveries');
INSERT INTO grdb_migrations VALUES('010_type_fallback');
INSERT INTO grdb_migrations VALUES('011_workers_labels_files');
INSERT INTO grdb_migrations VALUES('012_active_counts');
INSERT INTO grdb_migrations VALUES('013_finished_covering');
INSERT INTO grdb_migrations VALUES('014_drop_jobs_running');
INSERT INTO grdb_migrations VALUES('015_delayed_run_at');
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    processing_type TEXT NOT NULL,
    queue TEXT NOT NULL,
    data TEXT NOT NULL,
    options TEXT NOT NULL,
    status TEXT NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    message TEXT,
    result TEXT,
    error TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    run_at INTEGER NOT NULL,
    timeout_seconds INTEGER,
    idempotency_key TEXT,
    tenant TEXT NOT NULL,
    worker_id TEXT,
    lease_token TEXT,
    lease_expires_at INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    completed_at INTEGER,
    last_seq INTEGER NOT NULL DEFAULT 0
, errors TEXT NOT NULL DEFAULT '[]', cache_key TEXT, cached_from TEXT, labels TEXT);
INSERT INTO jobs VALUES('job_01m8yn0dt1kpyyy6fxk61vj5rx','noop','default','{"name":"completed"}','{"maxAttempts":3}','COMPLETED',100,'half','{"answer":42}',NULL,1,3,0,1796324996929,NULL,NULL,'default','wrk_01m8yn0dts0ep6eyw8hc9ttafs',NULL,NULL,0,1796324996929,1796324996955,1796324996971,5,'[]',NULL,NULL,NULL);
INSERT INTO jobs VALUES('job_01m8yn0dtbe8mx9kp9h3t9wtzs','noop','default','{"name":"failed"}','{"maxAttempts":1}','FAILED',50,'half',NULL,'it broke',1,1,0,1796324996939,NULL,NULL,'default','wrk_01m8yn0dts0ep6eyw8hc9ttafs',NULL,NULL,0,1796324996939,1796324996955,1796324996973,5,'[{"attempt":1,"error":"it broke","at":1796324996973}]',NULL,NULL,NULL);
INSERT INTO jobs VALUES('job_01m8yn0dtdm4h5ayktxfc8drte','noop','default','{"name":"cancelled"}','{"maxAttempts":3}','CANCELLED',0,NULL,NULL,NULL,0,3,0,1796324996941,NULL,NULL,'default',NULL,NULL,NULL,0,1796324996941,NULL,1796324996951,2,'[]',NULL,NULL,NULL);
INSERT INTO jobs VALUES('job_01m8yn0dte2m29ys01sx254pe0','noop','default','{"name":"processing"}','{"maxAttempts":3}','PROCESSING',50,'half',NULL,NULL,1,3,0,1796324996942,NULL,NULL,'default','wrk_01m8yn0dts0ep6eyw8hc9ttafs','91384030ea8dfcba6191b212453b5613',1796325026955,0,1796324996942,1796324996955,NULL,4,'[]',NULL,NULL,NULL);
INSERT INTO jobs VALUES('job_01m8yn0dtgpfey1xswrh27nbcc','noop','default','{"name":"requeued"}','{"maxAttempts":3}','PENDING',50,'half',NULL,'try again',1,3,0,1796324997951,NULL,NULL,'default',NULL,NULL,NULL,0,1796324996944,1796324996955,NULL,5,'[{"attempt":1,"error":"try again","at":1796324996975}]',NULL,NULL,NULL);
INSERT INTO jobs VALUES('job_01m8yn0dtgkwvyhhr91bscvg4f','noop','default','{"name":"retried"}','{"maxAttempts":1}','PENDING',0,NULL,NULL,NULL,0,1,0,1796324996978,NULL,NULL,'default',NULL,NULL,NULL,0,1796324996944,NULL,NULL,6,'[{"attempt":1,"error":"broke once","at":1796324996977}]',NULL,NULL,NULL);
INSERT INTO jobs VALUES('job_01m8yn0dtjjygwr6mdw2j5wws2','noop','default','{"name":"pending"}','{"maxAttempts":3}','PENDING',0,NULL,NULL,NULL,0,3,0,1796324996946,NULL,NULL,'default',NULL,NULL,NULL,0,1796324996946,NULL,NULL,1,'[]',NULL,NULL,NULL);
INSERT INTO jobs VALUES('job_01m8yn0dtmdtw9swvnqjfgs559','noop','default','{"name":"keyed"}','{"idempotencyKey":"order-17"}','PENDING',0,NULL,NULL,NULL,0,3,0,1796324996948,NULL,'order-17','default',NULL,NULL,NULL,0,1796324996948,NULL,NULL,1,'[]',NULL,NULL,NULL);
INSERT INTO jobs VALUES('job_01m8yn0dtpqm5sx72wjs6pr84y','noop','default','{"name":"delayed"}','{"delaySeconds":3600}','PENDING',0,NULL,NULL,NULL,0,3,0,1796328596950,NULL,NULL,'default',NULL,NULL,NULL,0,1796324996950,NULL,NULL,1,'[]',NULL,NULL,NULL);
CREATE TABLE job_events (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
INSERT INTO job_events VALUES('job_01m8yn0dt1kpyyy6fxk61vj5rx',1,'status','{"status":"PENDING"}',1796324996929);
INSERT INTO job_events VALUES('job_01m8yn0dt1kpyyy6fxk61vj5rx',2,'status','{"attempt":1,"status":"PROCESSING","workerId":"wrk_01m8yn0dts0ep6eyw8hc9ttafs"}',1796324996955);
INSERT INTO job_events VALUES('job_01m8yn0dt1kpyyy6fxk61vj5rx',3,'progress','{"message":"half","progress":50}',1796324996958);
INSERT INTO job_events VALUES('job_01m8yn0dt1kpyyy6fxk61vj5rx',4,'log','{"line":"working completed","stream":"stdout"}',1796324996958);
INSERT INTO job_events VALUES('job_01m8yn0dt1kpyyy6fxk61vj5rx',5,'completed','{"attempt":1,"cancelRequested":false,"completedAt":"2026-12-03T19:09:56.971Z","createdAt":"2026-12-03T19:09:56.929Z","data":{"name":"completed"},"errors":[],"jobId":"job_01m8yn0dt1kpyyy6fxk61vj5rx","maxAttempts":3,"message":"half","options":{"maxAttempts":3},"priority":0,"processingType":"noop","progress":100,"queue":"default","result":{"answer":42},"runAt":"2026-12-03T19:09:56.929Z","startedAt":"2026-12-03T19:09:56.955Z","status":"COMPLETED","tenant":"default","workerId":"wrk_01m8yn0dts0ep6eyw8hc9ttafs"}',1796324996971);
INSERT INTO job_events VALUES('job_01m8yn0dtbe8mx9kp9h3t9wtzs',1,'status','{"status":"PENDING"}',1796324996939);
INSERT INTO job_events VALUES('job_01m8yn0dtbe8mx9kp9h3t9wtzs',2,'status','{"attempt":1,"status":"PROCESSING","workerId":"wrk_01m8yn0dts0ep6eyw8hc9ttafs"}',1796324996955);
INSERT INTO job_events VALUES('job_01m8yn0dtbe8mx9kp9h3t9wtzs',3,'progress','{"message":"half","progress":50}',1796324996963);
INSERT INTO job_events VALUES('job_01m8yn0dtbe8mx9kp9h3t9wtzs',4,'log','{"line":"working failed","stream":"stdout"}',1796324996963);
INSERT INTO job_events VALUES('job_01m8yn0dtbe8mx9kp9h3t9wtzs',5,'failed','{"attempt":1,"cancelRequested":false,"completedAt":"2026-12-03T19:09:56.973Z","createdAt":"2026-12-03T19:09:56.939Z","data":{"name":"failed"},"error":"it broke","errors":[{"at":"2026-12-03T19:09:56.973Z","attempt":1,"error":"it broke"}],"jobId":"job_01m8yn0dtbe8mx9kp9h3t9wtzs","maxAttempts":1,"message":"half","options":{"maxAttempts":1},"priority":0,"processingType":"noop","progress":50,"queue":"default","runAt":"2026-12-03T19:09:56.939Z","startedAt":"2026-12-03T19:09:56.955Z","status":"FAILED","tenant":"default","workerId":"wrk_01m8yn0dts0ep6eyw8hc9ttafs"}',1796324996973);
INSERT INTO job_events VALUES('job_01m8yn0dtdm4h5ayktxfc8drte',1,'status','{"status":"PENDING"}',1796324996941);
INSERT INTO job_events VALUES('job_01m8yn0dtdm4h5ayktxfc8drte',2,'cancelled','{"attempt":0,"cancelRequested":false,"completedAt":"2026-12-03T19:09:56.951Z","createdAt":"2026-12-03T19:09:56.941Z","data":{"name":"cancelled"},"errors":[],"jobId":"job_01m8yn0dtdm4h5ayktxfc8drte","maxAttempts":3,"options":{"maxAttempts":3},"priority":0,"processingType":"noop","progress":0,"queue":"default","runAt":"2026-12-03T19:09:56.941Z","status":"CANCELLED","tenant":"default"}',1796324996951);
INSERT INTO job_events VALUES('job_01m8yn0dte2m29ys01sx254pe0',1,'status','{"status":"PENDING"}',1796324996942);
INSERT INTO job_events VALUES('job_01m8yn0dte2m29ys01sx254pe0',2,'status','{"attempt":1,"status":"PROCESSING","workerId":"wrk_01m8yn0dts0ep6eyw8hc9ttafs"}',1796324996955);
INSERT INTO job_events VALUES('job_01m8yn0dte2m29ys01sx254pe0',3,'progress','{"message":"half","progress":50}',1796324996964);
INSERT INTO job_events VALUES('job_01m8yn0dte2m29ys01sx254pe0',4,'log','{"line":"working processing","stream":"stdout"}',1796324996964);
INSERT INTO job_events VALUES('job_01m8yn0dtgkwvyhhr91bscvg4f',1,'status','{"status":"PENDING"}',1796324996944);
INSERT INTO job_events VALUES('job_01m8yn0dtgkwvyhhr91bscvg4f',2,'status','{"attempt":1,"status":"PROCESSING","workerId":"wrk_01m8yn0dts0ep6eyw8hc9ttafs"}',1796324996955);
INSERT INTO job_events VALUES('job_01m8yn0dtgkwvyhhr91bscvg4f',3,'progress','{"message":"half","progress":50}',1796324996966);
INSERT INTO job_events VALUES('job_01m8yn0dtgkwvyhhr91bscvg4f',4,'log','{"line":"working retried","stream":"stdout"}',1796324996966);
INSERT INTO job_events VALUES('job_01m8yn0dtgkwvyhhr91bscvg4f',5,'failed','{"attempt":1,"cancelRequested":false,"completedAt":"2026-12-03T19:09:56.977Z","createdAt":"2026-12-03T19:09:56.944Z","data":{"name":"retried"},"error":"broke once","errors":[{"at":"2026-12-03T19:09:56.977Z","attempt":1,"error":"broke once"}],"jobId":"job_01m8yn0dtgkwvyhhr91bscvg4f","maxAttempts":1,"message":"half","options":{"maxAttempts":1},"priority":0,"processingType":"noop","progress":50,"queue":"default","runAt":"2026-12-03T19:09:56.944Z","startedAt":"2026-12-03T19:09:56.955Z","status":"FAILED","tenant":"default","workerId":"wrk_01m8yn0dts0ep6eyw8hc9ttafs"}',1796324996977);
INSERT INTO job_events VALUES('job_01m8yn0dtgkwvyhhr91bscvg4f',6,'status','{"reason":"retried","status":"PENDING"}',1796324996978);
INSERT INTO job_events VALUES('job_01m8yn0dtgpfey1xswrh27nbcc',1,'status','{"status":"PENDING"}',1796324996944);
INSERT INTO job_events VALUES('job_01m8yn0dtgpfey1xswrh27nbcc',2,'status','{"attempt":1,"status":"PROCESSING","workerId":"wrk_01m8yn0dts0ep6eyw8hc9ttafs"}',1796324996955);
INSERT INTO job_events VALUES('job_01m8yn0dtgpfey1xswrh27nbcc',3,'progress','{"message":"half","progress":50}',1796324996968);
INSERT INTO job_events VALUES('job_01m8yn0dtgpfey1xswrh27nbcc',4,'log','{"line":"working requeued","stream":"stdout"}',1796324996968);
INSERT INTO job_events VALUES('job_01m8yn0dtgpfey1xswrh27nbcc',5,'status','{"attempt":1,"error":"try again","reason":"failed","runAt":"2026-12-03T19:09:57.951Z","status":"PENDING"}',1796324996975);
INSERT INTO job_events VALUES('job_01m8yn0dtjjygwr6mdw2j5wws2',1,'status','{"status":"PENDING"}',1796324996946);
INSERT INTO job_events VALUES('job_01m8yn0dtmdtw9swvnqjfgs559',1,'status','{"status":"PENDING"}',1796324996948);
INSERT INTO job_events VALUES('job_01m8yn0dtpqm5sx72wjs6pr84y',1,'status','{"status":"PENDING"}',1796324996950);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    tenant TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
INSERT INTO api_keys VALUES('key_01m8yn0dqvwqnqc53tysf6hhj8','admin (OFFLOAD_ADMIN_KEY)','admin','default','e6f0e39a45775141cdd41422bcf664c33648aa102fd775d121e58a105b153614',1796324996859);
INSERT INTO api_keys VALUES('key_01m8yn0dstem2v2t1mvm85gxam','fixture-worker','worker','default','c3d993d4948d8e602c6d2ccf1b0664cfa1e1e15f8078b40e4c14f94e1fd86baa',1796324996922);
INSERT INTO api_keys VALUES('key_01m8yn0dswm1gt75mh2qqgyv8v','fixture-client','client','acme','5d658f05dbe0433366840b2a00897c6a188dbde75124cefc7f50b08d490a371a',1796324996924);
CREATE TABLE paused_queues (queue TEXT PRIMARY KEY NOT NULL, paused_at INTEGER NOT NULL);
CREATE TABLE disabled_types (processing_type TEXT PRIMARY KEY NOT NULL, disabled_at INTEGER NOT NULL, fallback TEXT NOT NULL DEFAULT 'refuse');
CREATE TABLE job_templates (name TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL, updated_at INTEGER NOT NULL);
INSERT INTO job_templates VALUES('nightly','{"data":{"from":"template"},"processingType":"noop"}',1796324996925);
CREATE TABLE schedules (
    name TEXT PRIMARY KEY NOT NULL,
    cron TEXT NOT NULL,
    processing_type TEXT NOT NULL,
    queue TEXT NOT NULL,
    data TEXT NOT NULL,
    options TEXT NOT NULL,
    tenant TEXT NOT NULL,
    next_run_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO schedules VALUES('hourly','0 * * * *','noop','default','{"from":"schedule"}','{}','default',1796328000000,1796324996926);
CREATE TABLE webhook_deliveries (
    job_id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    updated_at INTEGER NOT NULL
);
CREATE TABLE workers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    processing_types TEXT NOT NULL,
    labels TEXT NOT NULL,
    max_concurrent_jobs INTEGER NOT NULL,
    status TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    last_heartbeat_at INTEGER NOT NULL
);
INSERT INTO workers VALUES('wrk_01m8yn0dts0ep6eyw8hc9ttafs','fixture-worker','["noop"]','{"mode":"distributed"}',8,'active',1796324996953,1796324996953);
CREATE TABLE files (
    id TEXT PRIMARY KEY NOT NULL,
    tenant TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (priority DESC, run_at, id) WHERE status = 'PENDING';
CREATE INDEX jobs_tenant ON jobs (tenant, id);
CREATE INDEX jobs_tenant_status ON jobs (tenant, status, id);
CREATE INDEX jobs_status ON jobs (status, id);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_result_cache ON jobs (tenant, cache_key, completed_at)
    WHERE status = 'COMPLETED' AND cache_key IS NOT NULL;
CREATE INDEX schedules_due ON schedules (next_run_at);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX files_created ON files (created_at);
CREATE INDEX jobs_running_worker ON jobs (worker_id) WHERE status = 'PROCESSING';
CREATE INDEX jobs_active_counts ON jobs (status, queue, processing_type)
    WHERE status IN ('PENDING', 'PROCESSING');
CREATE INDEX jobs_finished ON jobs (completed_at, status, queue, processing_type, started_at, created_at)
    WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED');
CREATE INDEX jobs_delayed_run_at ON jobs (run_at) WHERE status = 'PENDING' AND run_at > created_at;
COMMIT;

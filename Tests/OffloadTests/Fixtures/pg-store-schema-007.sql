--
-- PostgreSQL database dump
--

\restrict 2yJ4dYeE0hovzslFKhkbbbeRmxugOySvjAVAB1wmTAWlwi6Pl1hE8xTxF0b2qXd

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: api_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_keys (
    id text NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    tenant text NOT NULL,
    secret_hash text NOT NULL,
    created_at bigint NOT NULL
);


--
-- Name: disabled_types; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.disabled_types (
    processing_type text NOT NULL,
    disabled_at bigint NOT NULL,
    fallback text DEFAULT 'refuse'::text NOT NULL
);


--
-- Name: files; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.files (
    id text NOT NULL,
    tenant text NOT NULL,
    size bigint NOT NULL,
    sha256 text NOT NULL,
    content bytea NOT NULL,
    created_at bigint NOT NULL
);


--
-- Name: job_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_events (
    job_id text NOT NULL,
    seq bigint NOT NULL,
    kind text NOT NULL,
    data text NOT NULL,
    at bigint NOT NULL
)
WITH (autovacuum_vacuum_scale_factor='0.05');


--
-- Name: job_templates; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_templates (
    name text NOT NULL,
    body text NOT NULL,
    updated_at bigint NOT NULL
);


--
-- Name: jobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.jobs (
    id text NOT NULL,
    processing_type text NOT NULL,
    queue text NOT NULL,
    data text NOT NULL,
    options text NOT NULL,
    status text NOT NULL,
    progress integer DEFAULT 0 NOT NULL,
    message text,
    result text,
    error text,
    errors jsonb DEFAULT '[]'::jsonb NOT NULL,
    attempt integer DEFAULT 0 NOT NULL,
    max_attempts integer NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    run_at bigint NOT NULL,
    timeout_seconds integer,
    idempotency_key text,
    tenant text NOT NULL,
    worker_id text,
    lease_token text,
    lease_expires_at bigint,
    cancel_requested boolean DEFAULT false NOT NULL,
    created_at bigint NOT NULL,
    started_at bigint,
    completed_at bigint,
    last_seq bigint DEFAULT 0 NOT NULL,
    cache_key text,
    cached_from text,
    labels text[] DEFAULT '{}'::text[] NOT NULL
)
WITH (fillfactor='70', autovacuum_vacuum_scale_factor='0.01', autovacuum_vacuum_threshold='500', autovacuum_analyze_scale_factor='0.02', autovacuum_vacuum_cost_delay='1');


--
-- Name: offload_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.offload_migrations (
    name text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: paused_queues; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.paused_queues (
    queue text NOT NULL,
    paused_at bigint NOT NULL
);


--
-- Name: schedules; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schedules (
    name text NOT NULL,
    cron text NOT NULL,
    processing_type text NOT NULL,
    queue text NOT NULL,
    data text NOT NULL,
    options text NOT NULL,
    tenant text NOT NULL,
    next_run_at bigint NOT NULL,
    created_at bigint NOT NULL
);


--
-- Name: webhook_deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_deliveries (
    job_id text NOT NULL,
    url text NOT NULL,
    state text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at bigint NOT NULL,
    last_error text,
    updated_at bigint NOT NULL
);


--
-- Name: workers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.workers (
    id text NOT NULL,
    name text NOT NULL,
    processing_types text[] NOT NULL,
    labels text NOT NULL,
    max_concurrent_jobs integer NOT NULL,
    status text NOT NULL,
    registered_at bigint NOT NULL,
    last_heartbeat_at bigint NOT NULL
);


--
-- Data for Name: api_keys; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.api_keys (id, name, role, tenant, secret_hash, created_at) FROM stdin;
key_01m91aepwrrq9sbt3mxms6f8ry	admin (OFFLOAD_ADMIN_KEY)	admin	default	e6f0e39a45775141cdd41422bcf664c33648aa102fd775d121e58a105b153614	1796414593944
key_01m91aepzgv3tnsyhj7hzfajzq	fixture-worker	worker	default	d2b89b24a722ee55ca25559b0db38180bf16d5640b6ea78ff6f160b890958986	1796414594032
key_01m91aepzmqyvzfwz2155p2m4s	fixture-client	client	acme	d9a7ada45d54a6d950f15685ade259529c287a0d085d3401d1f49ceb683df0dc	1796414594036
\.


--
-- Data for Name: disabled_types; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.disabled_types (processing_type, disabled_at, fallback) FROM stdin;
\.


--
-- Data for Name: files; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.files (id, tenant, size, sha256, content, created_at) FROM stdin;
\.


--
-- Data for Name: job_events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.job_events (job_id, seq, kind, data, at) FROM stdin;
job_01m91aepzygjcyahm7vxswrn9r	1	status	{"status":"PENDING"}	1796414594046
job_01m91aeq05v9s7t7h19jsgscf4	1	status	{"status":"PENDING"}	1796414594053
job_01m91aeq0907rdersnrd2rkwr9	1	status	{"status":"PENDING"}	1796414594057
job_01m91aeq0ddg6sk1kdw92fpd7y	1	status	{"status":"PENDING"}	1796414594061
job_01m91aeq0h38srtawx965wmt0e	1	status	{"status":"PENDING"}	1796414594065
job_01m91aeq0p14n5jnbm9bxanetm	1	status	{"status":"PENDING"}	1796414594070
job_01m91aeq0vgg662wc9z8kv4rjz	1	status	{"status":"PENDING"}	1796414594075
job_01m91aeq0z3tpysf446v52cq9v	1	status	{"status":"PENDING"}	1796414594079
job_01m91aeq15br0a4hrrc1z6py09	1	status	{"status":"PENDING"}	1796414594085
job_01m91aeq0907rdersnrd2rkwr9	2	cancelled	{"attempt":0,"cancelRequested":false,"completedAt":"2026-12-04T20:03:14.089Z","createdAt":"2026-12-04T20:03:14.057Z","data":{"name":"cancelled"},"errors":[],"jobId":"job_01m91aeq0907rdersnrd2rkwr9","maxAttempts":3,"options":{"maxAttempts":3},"priority":0,"processingType":"noop","progress":0,"queue":"default","runAt":"2026-12-04T20:03:14.057Z","status":"CANCELLED","tenant":"default"}	1796414594089
job_01m91aepzygjcyahm7vxswrn9r	2	status	{"status" : "PROCESSING", "attempt" : 1, "workerId" : "wrk_01m91aeq1kbmay917tjqqmtejd"}	1796414594104
job_01m91aeq05v9s7t7h19jsgscf4	2	status	{"status" : "PROCESSING", "attempt" : 1, "workerId" : "wrk_01m91aeq1kbmay917tjqqmtejd"}	1796414594104
job_01m91aeq0ddg6sk1kdw92fpd7y	2	status	{"status" : "PROCESSING", "attempt" : 1, "workerId" : "wrk_01m91aeq1kbmay917tjqqmtejd"}	1796414594104
job_01m91aeq0h38srtawx965wmt0e	2	status	{"status" : "PROCESSING", "attempt" : 1, "workerId" : "wrk_01m91aeq1kbmay917tjqqmtejd"}	1796414594104
job_01m91aeq0p14n5jnbm9bxanetm	2	status	{"status" : "PROCESSING", "attempt" : 1, "workerId" : "wrk_01m91aeq1kbmay917tjqqmtejd"}	1796414594104
job_01m91aepzygjcyahm7vxswrn9r	3	progress	{"message":"half","progress":50}	1796414594115
job_01m91aepzygjcyahm7vxswrn9r	4	log	{"line":"working completed","stream":"stdout"}	1796414594115
job_01m91aeq05v9s7t7h19jsgscf4	3	progress	{"message":"half","progress":50}	1796414594121
job_01m91aeq05v9s7t7h19jsgscf4	4	log	{"line":"working failed","stream":"stdout"}	1796414594121
job_01m91aeq0ddg6sk1kdw92fpd7y	3	progress	{"message":"half","progress":50}	1796414594126
job_01m91aeq0ddg6sk1kdw92fpd7y	4	log	{"line":"working processing","stream":"stdout"}	1796414594126
job_01m91aeq0h38srtawx965wmt0e	3	progress	{"message":"half","progress":50}	1796414594131
job_01m91aeq0h38srtawx965wmt0e	4	log	{"line":"working requeued","stream":"stdout"}	1796414594131
job_01m91aeq0p14n5jnbm9bxanetm	3	progress	{"message":"half","progress":50}	1796414594136
job_01m91aeq0p14n5jnbm9bxanetm	4	log	{"line":"working retried","stream":"stdout"}	1796414594136
job_01m91aepzygjcyahm7vxswrn9r	5	completed	{"attempt":1,"cancelRequested":false,"completedAt":"2026-12-04T20:03:14.142Z","createdAt":"2026-12-04T20:03:14.046Z","data":{"name":"completed"},"errors":[],"jobId":"job_01m91aepzygjcyahm7vxswrn9r","maxAttempts":3,"message":"half","options":{"maxAttempts":3},"priority":0,"processingType":"noop","progress":100,"queue":"default","result":{"answer":42},"runAt":"2026-12-04T20:03:14.046Z","startedAt":"2026-12-04T20:03:14.104Z","status":"COMPLETED","tenant":"default","workerId":"wrk_01m91aeq1kbmay917tjqqmtejd"}	1796414594142
job_01m91aeq05v9s7t7h19jsgscf4	5	failed	{"attempt":1,"cancelRequested":false,"completedAt":"2026-12-04T20:03:14.149Z","createdAt":"2026-12-04T20:03:14.053Z","data":{"name":"failed"},"error":"it broke","errors":[{"at":"2026-12-04T20:03:14.149Z","attempt":1,"error":"it broke"}],"jobId":"job_01m91aeq05v9s7t7h19jsgscf4","maxAttempts":1,"message":"half","options":{"maxAttempts":1},"priority":0,"processingType":"noop","progress":50,"queue":"default","runAt":"2026-12-04T20:03:14.053Z","startedAt":"2026-12-04T20:03:14.104Z","status":"FAILED","tenant":"default","workerId":"wrk_01m91aeq1kbmay917tjqqmtejd"}	1796414594149
job_01m91aeq0h38srtawx965wmt0e	5	status	{"attempt":1,"error":"try again","reason":"failed","runAt":"2026-12-04T20:03:14.965Z","status":"PENDING"}	1796414594158
job_01m91aeq0p14n5jnbm9bxanetm	5	failed	{"attempt":1,"cancelRequested":false,"completedAt":"2026-12-04T20:03:14.165Z","createdAt":"2026-12-04T20:03:14.070Z","data":{"name":"retried"},"error":"broke once","errors":[{"at":"2026-12-04T20:03:14.165Z","attempt":1,"error":"broke once"}],"jobId":"job_01m91aeq0p14n5jnbm9bxanetm","maxAttempts":1,"message":"half","options":{"maxAttempts":1},"priority":0,"processingType":"noop","progress":50,"queue":"default","runAt":"2026-12-04T20:03:14.070Z","startedAt":"2026-12-04T20:03:14.104Z","status":"FAILED","tenant":"default","workerId":"wrk_01m91aeq1kbmay917tjqqmtejd"}	1796414594165
job_01m91aeq0p14n5jnbm9bxanetm	6	status	{"reason":"retried","status":"PENDING"}	1796414594174
\.


--
-- Data for Name: job_templates; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.job_templates (name, body, updated_at) FROM stdin;
nightly	{"data":{"from":"template"},"processingType":"noop"}	1796414594039
\.


--
-- Data for Name: jobs; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.jobs (id, processing_type, queue, data, options, status, progress, message, result, error, errors, attempt, max_attempts, priority, run_at, timeout_seconds, idempotency_key, tenant, worker_id, lease_token, lease_expires_at, cancel_requested, created_at, started_at, completed_at, last_seq, cache_key, cached_from, labels) FROM stdin;
job_01m91aeq0vgg662wc9z8kv4rjz	noop	default	{"name":"pending"}	{"maxAttempts":3}	PENDING	0	\N	\N	\N	[]	0	3	0	1796414594075	\N	\N	default	\N	\N	\N	f	1796414594075	\N	\N	1	\N	\N	{}
job_01m91aeq0z3tpysf446v52cq9v	noop	default	{"name":"keyed"}	{"idempotencyKey":"order-17"}	PENDING	0	\N	\N	\N	[]	0	3	0	1796414594079	\N	order-17	default	\N	\N	\N	f	1796414594079	\N	\N	1	\N	\N	{}
job_01m91aeq15br0a4hrrc1z6py09	noop	default	{"name":"delayed"}	{"delaySeconds":3600}	PENDING	0	\N	\N	\N	[]	0	3	0	1796418194085	\N	\N	default	\N	\N	\N	f	1796414594085	\N	\N	1	\N	\N	{}
job_01m91aeq0907rdersnrd2rkwr9	noop	default	{"name":"cancelled"}	{"maxAttempts":3}	CANCELLED	0	\N	\N	\N	[]	0	3	0	1796414594057	\N	\N	default	\N	\N	\N	f	1796414594057	\N	1796414594089	2	\N	\N	{}
job_01m91aeq05v9s7t7h19jsgscf4	noop	default	{"name":"failed"}	{"maxAttempts":1}	FAILED	50	half	\N	it broke	[{"at": 1796414594149, "error": "it broke", "attempt": 1}]	1	1	0	1796414594053	\N	\N	default	wrk_01m91aeq1kbmay917tjqqmtejd	\N	\N	f	1796414594053	1796414594104	1796414594149	5	\N	\N	{}
job_01m91aeq0ddg6sk1kdw92fpd7y	noop	default	{"name":"processing"}	{"maxAttempts":3}	PROCESSING	50	half	\N	\N	[]	1	3	0	1796414594061	\N	\N	default	wrk_01m91aeq1kbmay917tjqqmtejd	f7c323a6f3abb7348831bc54916a4e05	1796414624104	f	1796414594061	1796414594104	\N	4	\N	\N	{}
job_01m91aepzygjcyahm7vxswrn9r	noop	default	{"name":"completed"}	{"maxAttempts":3}	COMPLETED	100	half	{"answer":42}	\N	[]	1	3	0	1796414594046	\N	\N	default	wrk_01m91aeq1kbmay917tjqqmtejd	\N	\N	f	1796414594046	1796414594104	1796414594142	5	\N	\N	{}
job_01m91aeq0h38srtawx965wmt0e	noop	default	{"name":"requeued"}	{"maxAttempts":3}	PENDING	50	half	\N	try again	[{"at": 1796414594158, "error": "try again", "attempt": 1}]	1	3	0	1796414594965	\N	\N	default	\N	\N	\N	f	1796414594065	1796414594104	\N	5	\N	\N	{}
job_01m91aeq0p14n5jnbm9bxanetm	noop	default	{"name":"retried"}	{"maxAttempts":1}	PENDING	0	\N	\N	\N	[{"at": 1796414594165, "error": "broke once", "attempt": 1}]	0	1	0	1796414594174	\N	\N	default	\N	\N	\N	f	1796414594070	\N	\N	6	\N	\N	{}
\.


--
-- Data for Name: offload_migrations; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.offload_migrations (name, applied_at) FROM stdin;
001_jobs_events_keys	2026-12-04 20:03:13.883863+00
002_schedules	2026-12-04 20:03:13.883863+00
003_webhook_deliveries	2026-12-04 20:03:13.883863+00
004_type_fallback	2026-12-04 20:03:13.883863+00
005_workers_labels_files	2026-12-04 20:03:13.883863+00
006_active_counts	2026-12-04 20:03:13.883863+00
007_finished_covering	2026-12-04 20:03:13.883863+00
\.


--
-- Data for Name: paused_queues; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.paused_queues (queue, paused_at) FROM stdin;
\.


--
-- Data for Name: schedules; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.schedules (name, cron, processing_type, queue, data, options, tenant, next_run_at, created_at) FROM stdin;
hourly	0 * * * *	noop	default	{"from":"schedule"}	{}	default	1796418000000	1796414594043
\.


--
-- Data for Name: webhook_deliveries; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.webhook_deliveries (job_id, url, state, attempts, next_attempt_at, last_error, updated_at) FROM stdin;
\.


--
-- Data for Name: workers; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.workers (id, name, processing_types, labels, max_concurrent_jobs, status, registered_at, last_heartbeat_at) FROM stdin;
wrk_01m91aeq1kbmay917tjqqmtejd	fixture-worker	{noop}	{"mode":"distributed"}	8	active	1796414594099	1796414594099
\.


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);


--
-- Name: api_keys api_keys_secret_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash);


--
-- Name: disabled_types disabled_types_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.disabled_types
    ADD CONSTRAINT disabled_types_pkey PRIMARY KEY (processing_type);


--
-- Name: files files_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.files
    ADD CONSTRAINT files_pkey PRIMARY KEY (id);


--
-- Name: job_events job_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_events
    ADD CONSTRAINT job_events_pkey PRIMARY KEY (job_id, seq);


--
-- Name: job_templates job_templates_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_templates
    ADD CONSTRAINT job_templates_pkey PRIMARY KEY (name);


--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);


--
-- Name: offload_migrations offload_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.offload_migrations
    ADD CONSTRAINT offload_migrations_pkey PRIMARY KEY (name);


--
-- Name: paused_queues paused_queues_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.paused_queues
    ADD CONSTRAINT paused_queues_pkey PRIMARY KEY (queue);


--
-- Name: schedules schedules_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedules
    ADD CONSTRAINT schedules_pkey PRIMARY KEY (name);


--
-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (job_id);


--
-- Name: workers workers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workers
    ADD CONSTRAINT workers_pkey PRIMARY KEY (id);


--
-- Name: files_created; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX files_created ON public.files USING btree (created_at);


--
-- Name: jobs_active_counts; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_active_counts ON public.jobs USING btree (status, queue, processing_type) WHERE (status = ANY (ARRAY['PENDING'::text, 'PROCESSING'::text]));


--
-- Name: jobs_finished; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_finished ON public.jobs USING btree (completed_at) INCLUDE (status, queue, processing_type, started_at, created_at) WHERE (status = ANY (ARRAY['COMPLETED'::text, 'FAILED'::text, 'CANCELLED'::text]));


--
-- Name: jobs_idempotency; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX jobs_idempotency ON public.jobs USING btree (tenant, idempotency_key) WHERE (idempotency_key IS NOT NULL);


--
-- Name: jobs_pending_run_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_pending_run_at ON public.jobs USING btree (run_at) WHERE (status = 'PENDING'::text);


--
-- Name: jobs_ready; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_ready ON public.jobs USING btree (priority DESC, run_at, id) WHERE (status = 'PENDING'::text);


--
-- Name: jobs_result_cache; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_result_cache ON public.jobs USING btree (tenant, cache_key, completed_at) WHERE ((status = 'COMPLETED'::text) AND (cache_key IS NOT NULL));


--
-- Name: jobs_running; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_running ON public.jobs USING btree (lease_expires_at) WHERE (status = 'PROCESSING'::text);


--
-- Name: jobs_running_worker; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_running_worker ON public.jobs USING btree (worker_id) WHERE (status = 'PROCESSING'::text);


--
-- Name: jobs_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_status ON public.jobs USING btree (status, id);


--
-- Name: jobs_tenant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_tenant ON public.jobs USING btree (tenant, id);


--
-- Name: jobs_tenant_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_tenant_status ON public.jobs USING btree (tenant, status, id);


--
-- Name: schedules_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX schedules_due ON public.schedules USING btree (next_run_at);


--
-- Name: webhook_deliveries_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_due ON public.webhook_deliveries USING btree (next_attempt_at) WHERE (state = 'pending'::text);


--
-- PostgreSQL database dump complete
--

\unrestrict 2yJ4dYeE0hovzslFKhkbbbeRmxugOySvjAVAB1wmTAWlwi6Pl1hE8xTxF0b2qXd


-- Requests through the gateway per minute and service (#15): every gateway instance adds its counts every few seconds,
-- so the console's dashboard shows the whole platform's requests per minute and error rate from one API
-- call (GET /api/v1/admin/traffic). Rows older than 30 days are removed by the admin service's jobs.
CREATE TABLE IF NOT EXISTS gateway_traffic (
  minute timestamptz NOT NULL,
  -- The backend service the requests were for (the path's /api/v1/<service>/).
  service text NOT NULL,
  requests bigint NOT NULL DEFAULT 0,
  client_errors bigint NOT NULL DEFAULT 0,
  server_errors bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (minute, service),
  CONSTRAINT gateway_traffic_minute_check CHECK (date_trunc('minute', minute) = minute)
);

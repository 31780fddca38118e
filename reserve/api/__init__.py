"""The Reserve REST API (/api/v1/)."""

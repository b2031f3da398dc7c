"""The REST API: JSON over HTTP at ``/api/v1``, described by OpenAPI."""

"""Server settings: where data lives, how long tokens last, what the password policy is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class ServerConfig:
    """Everything the server needs to know at start-up."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8787
    public_url: str | None = None  # base of presigned URLs when behind a proxy; default http://host:port
    token_ttl_s: int = 3600
    password_min_length: int = 8
    reset_codes_per_hour: int = 5  # per address; more → LimitExceededException, as Cognito answers
    users_can_create_datasets: bool = False  # for users who sign up (POST /users); as on the real service
    default_page_size: int = 20
    max_page_size: int = 1000
    max_json_body_bytes: int = 64 * 1024 * 1024
    query_regex_time_s: float = 10.0  # what an ndiquery's regular expressions may take in all
    url_ttl_s: int = 3600  # lifetime of presigned storage URLs
    max_object_bytes: int = 5 * 1024**3  # S3's single-PUT limit
    faults: str | None = None  # fault injection, e.g. "seed=3,error_rate=0.1"; None: off
    # Deferred work, as on the real service (cloud-api §10.5); 0 in fast tests.
    file_registration_delay_s: float = 1.0
    document_ingest_delay_s: float = 1.0
    zip_extract_delay_s: float = 1.0
    download_delay_s: float = 1.0
    compute_stage_delay_s: float = 2.0
    compute_timeout_s: float = 120.0  # how long a hanging stage (zombie-test-v1) runs before it fails
    publish_delay_s: float = 2.0
    undelete_delay_s: float = 2.0
    worker_interval_s: float = 0.05

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

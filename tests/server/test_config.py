import pytest

from server.config import Settings


def test_secret_key_is_generated_once_and_kept(tmp_path):
    env = {"SIGNAGE_DATA_DIR": str(tmp_path)}
    first = Settings.from_env(env).secret_key
    assert len(first) == 64
    assert Settings.from_env(env).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # not readable by others


def test_defaults_put_sqlite_under_the_data_dir(tmp_path):
    s = Settings.from_env({"SIGNAGE_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'signage.db'}"
    assert s.message_queue is None


def test_environment_overrides(tmp_path):
    s = Settings.from_env({
        "SIGNAGE_DATA_DIR": str(tmp_path),
        "SIGNAGE_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "SIGNAGE_SECRET_KEY": "k",
        "SIGNAGE_MESSAGE_QUEUE": "redis://127.0.0.1:6379/0",
    })
    assert (s.database_url, s.secret_key, s.message_queue) == (
        "postgresql+psycopg://u@h/db", "k", "redis://127.0.0.1:6379/0")
    assert not (tmp_path / "secret_key").exists()


def test_scale_out_settings(tmp_path):
    s = Settings.from_env({
        "SIGNAGE_DATA_DIR": str(tmp_path), "SIGNAGE_SECRET_KEY": "k",
        "SIGNAGE_MESSAGE_QUEUE_CHANNEL": "district-7", "SIGNAGE_NODE_NAME": "web-8001",
        "SIGNAGE_DB_POOL_SIZE": "4", "SIGNAGE_DB_MAX_OVERFLOW": "0",
        "SIGNAGE_PROXY_HOPS": "1", "SIGNAGE_BLOB_ACCEL_PATH": "/_signage_blobs/",
    })
    assert (s.message_queue_channel, s.node_name, s.db_pool_size, s.db_max_overflow,
            s.proxy_hops, s.blob_accel_path) == (
        "district-7", "web-8001", 4, 0, 1, "/_signage_blobs/")
    flask = s.flask_config()
    # Rate-limit keys are per deployment too, and Redis away does not lock staff out.
    assert flask["RATELIMIT_KEY_PREFIX"] == "district-7"
    assert flask["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] and flask["RATELIMIT_SWALLOW_ERRORS"]


@pytest.mark.parametrize(("name", "value", "says"), [
    ("SIGNAGE_DB_POOL_SIZE", "ten", "is not a whole number"),
    ("SIGNAGE_DB_POOL_SIZE", "0", "must be at least 1"),
    ("SIGNAGE_DB_MAX_OVERFLOW", "-1", "must be at least 0"),
    ("SIGNAGE_QUEUE_HEARTBEAT_S", "0", "must be at least 0.1"),
    ("SIGNAGE_BLOB_ACCEL_PATH", "_blobs", "must start and end with '/'"),
    ("SIGNAGE_MESSAGE_QUEUE", "amqp://guest@127.0.0.1//", "only Redis is supported"),
])
def test_bad_scale_out_settings_name_the_variable(tmp_path, name, value, says):
    with pytest.raises(ValueError, match=name) as err:
        Settings.from_env({"SIGNAGE_DATA_DIR": str(tmp_path), "SIGNAGE_SECRET_KEY": "k",
                           name: value})
    assert says in str(err.value)



def test_job_settings_and_what_a_job_worker_inherits(tmp_path):
    s = Settings.from_env({
        "SIGNAGE_DATA_DIR": str(tmp_path), "SIGNAGE_SECRET_KEY": "k",
        "SIGNAGE_DATABASE_URL": "postgresql+psycopg://u@h/db", "SIGNAGE_FONT": "/f.ttc:1",
        "SIGNAGE_JOB_WORKERS": "3", "SIGNAGE_JOB_TIMEOUT_S": "30",
        "SIGNAGE_JOB_MEMORY_MB": "512",
    })
    assert (s.job_workers, s.job_timeout_s, s.job_memory_mb) == (3, 30.0, 512)
    # A worker process rebuilds the same settings from its environment, even when the app
    # was made from a dict that is not os.environ (as tests make theirs).
    child = Settings.from_env(s.child_environ())
    assert (child.data_dir, child.database_url, child.font, child.secret_key,
            child.job_memory_mb) == (s.data_dir, s.database_url, s.font, "k", 512)
    defaults = Settings.from_env({"SIGNAGE_DATA_DIR": str(tmp_path), "SIGNAGE_SECRET_KEY": "k"})
    assert (defaults.job_workers, defaults.job_timeout_s, defaults.job_memory_mb) == (
        2, 120.0, 1024)


@pytest.mark.parametrize(("name", "value"), [("SIGNAGE_JOB_WORKERS", "0"),
                                             ("SIGNAGE_JOB_TIMEOUT_S", "soon"),
                                             ("SIGNAGE_JOB_MEMORY_MB", "8")])
def test_bad_job_settings_are_refused_by_name(tmp_path, name, value):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({"SIGNAGE_DATA_DIR": str(tmp_path), "SIGNAGE_SECRET_KEY": "k",
                           name: value})

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

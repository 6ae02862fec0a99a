"""Settings of the users context (environment variables prefixed ``USERS_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bus.settings import DatabaseSettings


class UsersSettings(DatabaseSettings):
    """Where the users context listens, its database, and the seeder's accounts."""

    model_config = SettingsConfigDict(
        env_prefix="USERS_", env_file=".env", extra="ignore"
    )

    http_port: int = Field(default=8001, description="Port of the REST reads.")
    database_url: str = Field(
        default="mysql+aiomysql://root@127.0.0.1:3306/streamflow_users",
        description="SQLAlchemy async URL of the users database (MariaDB).",
    )
    admin_email: str = Field(
        default="admin@streamflow.example",
        description="Email of the admin account the seeder creates.",
    )
    admin_password: str = Field(
        default="Admin123!",
        repr=False,
        description="Password of the admin account the seeder creates; the "
        "development default is refused in production.",
    )
    seed_password: str = Field(
        default="Password123!",
        repr=False,
        description="Password every fake user the seeder creates shares.",
    )

    def secret_fields(self) -> dict[str, str]:
        """The admin password must not be the documented default in production."""
        return {"admin_password": self.admin_password}

"""Piccolo's configuration: the engine comes from QINGLING_DATABASE_URL."""

from piccolo.conf.apps import AppRegistry

from server.core.engine import engine_from_env

DB = engine_from_env()

APP_REGISTRY = AppRegistry(apps=["server.core.piccolo_app"])

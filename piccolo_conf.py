"""Piccolo's configuration: the engine comes from QINGLING_DATABASE_URL."""

from piccolo.conf.apps import AppRegistry

from server.db import engine_from_env

DB = engine_from_env()

APP_REGISTRY = AppRegistry(apps=["server.piccolo_app"])

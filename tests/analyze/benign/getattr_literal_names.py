import logging


class Settings:
    DEBUG = False
    LEVEL = "INFO"


settings = Settings()
debug = getattr(settings, "DEBUG", False)
level = getattr(logging, "INFO")
print(debug, level, hasattr(settings, "eval"))

"""Where the two APIs are and which environment variables hold their settings.

Constants only: the command line declares its options (``prepare --upload``'s among
them) from these without importing the HTTP machinery, which only sending needs.
"""
from __future__ import annotations

# WeChat's temporary media API (wechat.py).
DEFAULT_BASE_URL = "https://api.weixin.qq.com"
ENV_ACCESS_TOKEN = "MEDIAPREP_WECHAT_ACCESS_TOKEN"
ENV_APPID = "MEDIAPREP_WECHAT_APPID"
ENV_SECRET = "MEDIAPREP_WECHAT_SECRET"
ENV_BASE_URL = "MEDIAPREP_WECHAT_BASE_URL"

# IMIconnect's messaging API (imiconnect.py).
DEFAULT_URL = "https://api.imiconnect.io/resources/v1/messaging"
ENV_KEY = "MEDIAPREP_IMICONNECT_KEY"
ENV_URL = "MEDIAPREP_IMICONNECT_URL"

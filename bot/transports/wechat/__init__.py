"""WeChat: the callback bridge, WeCom (work), the Official Account (mp), and the endpoints serving both (callbacks)."""

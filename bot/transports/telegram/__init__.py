"""Telegram: the bridge both adapters share, python-telegram-bot (ptb) and aiogram."""

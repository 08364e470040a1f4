"""Channel adapters: the Telegram bot (``bot.main``) and the local terminal chat (``bot.terminal``). Thin clients of
the hotline API: they translate and deliver; the conversation and every rule live in the API."""

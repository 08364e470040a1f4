"""The Telegram bot: a stateless client of the hotline API (``bot.main``) and the same conversation in a terminal
(``bot.terminal``)."""

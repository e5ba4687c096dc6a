"""The use cases, one module each, layered: base <- asking <- payments <- holds <- answers <- events
<- voice. Each layer uses only the ones before it; `bot.service.Service` is the last."""

"""The use cases, one handler each, composed by `bot.service.Service`: each receives the context (`base.Context`,
`base.Shared`, `common.Common`) and the handlers it calls, and inherits from none."""

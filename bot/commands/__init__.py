"""The command language: text -> Command, or CommandError with the sentence for the user.

Pure: no I/O, no settings. The grammar itself lives in bot/grammar.lark; `parser` finds where a command starts, runs
the parser, and turns the tree into the value objects of `types`, checking what a grammar cannot (duplicate
recipients, the bot paying itself, currencies, the memo's length). A command written with a French verb is
answered in French (`lang`). Every name is importable from `bot.commands`.
"""

from bot.commands.parser import DEFAULT_ENABLED, MAX_MEMO, MAX_RECIPIENTS, MAX_TEXT, dm_lang, parse_command, parse_dm
from bot.commands.types import Command, DmCommand, DmKind, PostKind

__all__ = [
    "DEFAULT_ENABLED",
    "MAX_MEMO",
    "MAX_RECIPIENTS",
    "MAX_TEXT",
    "Command",
    "DmCommand",
    "DmKind",
    "PostKind",
    "dm_lang",
    "parse_command",
    "parse_dm",
]

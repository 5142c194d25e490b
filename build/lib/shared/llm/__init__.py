"""LLM analysts' plumbing: an OpenAI-compatible client, a shared budget, validated structured answers."""

from shared.llm.budget import LlmBudget
from shared.llm.client import ChatClient, Completion, LlmFailure
from shared.llm.structured import StructuredLlm, load_prompt

__all__ = ["ChatClient", "Completion", "LlmBudget", "LlmFailure", "StructuredLlm", "load_prompt"]

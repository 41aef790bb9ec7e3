"""Use cases on models: create, get, list, and create-on-first-registration."""

from __future__ import annotations

from layerserve.domain.errors import ConflictError, ModelNotFoundError
from layerserve.domain.registry import DEFAULT_ALIAS, HistoryAction, Model
from layerserve.services.registry.commands import CreateModel
from layerserve.services.registry.context import Context, check_model_name


class ModelUseCases:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def get(self, name: str) -> Model:
        model = self._ctx.store.get_model(check_model_name(name))
        if model is None:
            raise ModelNotFoundError(name)
        return model

    def all(self) -> list[Model]:
        return sorted(self._ctx.store.list_models(), key=lambda model: model.name)

    def create(self, cmd: CreateModel, actor: str) -> Model:
        if self._ctx.store.get_model(cmd.name) is not None:
            raise ConflictError(f"model '{cmd.name}' already exists")
        model = Model(
            name=cmd.name,
            default_alias=cmd.default_alias,
            description=cmd.description,
            created_at=self._ctx.clock(),
            created_by=actor,
        )
        entry = self._ctx.entry(
            model.name,
            actor,
            HistoryAction.CREATE_MODEL,
            f"model {model.name}",
            after={"default_alias": model.default_alias, "description": model.description},
            reason=cmd.reason,
        )
        self._ctx.store.create_model(model, entry)
        return model

    def ensure(self, name: str, actor: str) -> Model:
        """The model, created with default settings if it does not exist yet."""
        existing = self._ctx.store.get_model(check_model_name(name))
        if existing is not None:
            return existing
        cmd = CreateModel(name=name, default_alias=DEFAULT_ALIAS, reason="first version registered")
        try:
            return self.create(cmd, actor)
        except ConflictError:
            return self.get(name)

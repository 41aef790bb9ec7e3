"""The registry on DynamoDB: ``DynamoDBRegistry`` implements ``RegistryStore``/``RegistryReader``.

Key design (one table, string keys ``pk``/``sk``): see ``items``.
"""

from layerserve.adapters.dynamodb_registry.registry import DynamoDBRegistry
from layerserve.adapters.dynamodb_registry.table import create_registry_table

__all__ = ["DynamoDBRegistry", "create_registry_table"]

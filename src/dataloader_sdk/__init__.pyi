"""dataloader-sdk's public API: the one list of its names (see ``_lazy.py``).

Each line says where a name lives; ``import dataloader_sdk`` imports none of these
modules until the name is first used. Type checkers and the API docs read this file.
"""

from dataloader_sdk.config import Settings as Settings
from dataloader_sdk.control.store import Claim as Claim
from dataloader_sdk.control.store import ControlStore as ControlStore
from dataloader_sdk.errors import ConfigError as ConfigError
from dataloader_sdk.errors import DataLoaderError as DataLoaderError
from dataloader_sdk.errors import DestinationError as DestinationError
from dataloader_sdk.errors import DestinationTransientError as DestinationTransientError
from dataloader_sdk.errors import LeaseError as LeaseError
from dataloader_sdk.errors import SecretError as SecretError
from dataloader_sdk.errors import SourceError as SourceError
from dataloader_sdk.errors import SourcePermanentError as SourcePermanentError
from dataloader_sdk.errors import SourceTransientError as SourceTransientError
from dataloader_sdk.errors import StaleVersionError as StaleVersionError
from dataloader_sdk.errors import StateError as StateError
from dataloader_sdk.errors import UnknownNameError as UnknownNameError
from dataloader_sdk.errors import ValidationError as ValidationError
from dataloader_sdk.loader import DataLoader as DataLoader
from dataloader_sdk.model import RunRecord as RunRecord
from dataloader_sdk.model import SourceConfig as SourceConfig
from dataloader_sdk.model import TableConfig as TableConfig
from dataloader_sdk.model import TableRecord as TableRecord
from dataloader_sdk.model import TableState as TableState
from dataloader_sdk.model import TargetName as TargetName
from dataloader_sdk.model import Watermark as Watermark
from dataloader_sdk.plugins import PluginHost as PluginHost
from dataloader_sdk.plugins import hookimpl as hookimpl
from dataloader_sdk.progress import ProgressUpdate as ProgressUpdate

__version__: str

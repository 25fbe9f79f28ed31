"""Model parts (registered by name) and the model builder."""
from ppexp.modeling.architecture import BaseModel, build_model

__all__ = ["BaseModel", "build_model"]

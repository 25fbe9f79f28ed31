"""Label-line rules shared by the datasets and the data tools (no paddle import)."""
import json


def parse_image_field(field):
    """Upstream allows a JSON list of paths as the image field; take the first."""
    if field.startswith("[") and field.endswith("]"):
        try:
            paths = json.loads(field)
            return paths[0] if paths else field
        except ValueError:
            return field
    return field

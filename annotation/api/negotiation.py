"""Content negotiation: DRF's, with its answer for the usual request worked out without parsing the Accept header."""

from rest_framework.negotiation import DefaultContentNegotiation

# The Accept headers whose answer is the first renderer, JSON, as application/json: none (DRF reads it as */*),
# anything, or JSON itself. DRF's own negotiation gives the same renderer and media type for each.
_JSON_ANYWAY = (None, "*/*", "application/json")


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if (not format_suffix and renderers and renderers[0].media_type == "application/json"
                and request.META.get("HTTP_ACCEPT") in _JSON_ANYWAY
                and not request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)

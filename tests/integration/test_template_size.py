"""template.yaml fits CloudFormation's inline limit with room to grow.

``aws cloudformation deploy`` without an S3 bucket sends the packaged template inline,
which CloudFormation caps at 51,200 bytes; ``sam deploy`` uploads it to S3 instead. The
packaged form is what counts: comments are gone, intrinsic functions are in their long
form, local paths are S3 URIs (``tests.cfn_template.packaged``). ``make build`` measures
the real one (infra/build.sh).
"""

from __future__ import annotations

from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

from tests.cfn_template import PACKAGED_URI, packaged, source

INLINE_LIMIT = 51_200
BUDGET = 46_000
"""About 10 % below the limit: what new resources and options may still use."""


def test_packaged_template_stays_well_under_the_inline_limit() -> None:
    size = len(packaged().encode("utf-8"))
    assert size <= BUDGET < INLINE_LIMIT, (
        f"packaged template is {size} bytes, over the budget of {BUDGET} "
        f"(CloudFormation's inline limit is {INLINE_LIMIT}): trim descriptions, move "
        "repeated statements into shared policies, or compact the dashboard body"
    )


def test_packaged_form_is_the_template_itself() -> None:
    """The measured text is a faithful rendering: it parses back to the same template."""
    parsed = yaml_parse(packaged())
    original = source()
    assert parsed["Parameters"] == original["Parameters"]
    assert set(parsed["Resources"]) == set(original["Resources"])
    for name, resource in parsed["Resources"].items():
        assert resource["Metadata"]["SamResourceId"] == name
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                assert properties[key] == PACKAGED_URI
    dashboard = parsed["Resources"]["Dashboard"]["Properties"]
    assert dashboard == original["Resources"]["Dashboard"]["Properties"]

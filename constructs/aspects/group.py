"""Several Aspects behind one kernel callback per construct.

The jsii kernel calls a Python Aspect once per construct, and each call is a round trip (~0.8 ms);
with ~700 constructs per app, every extra Python Aspect costs about half a second of synth. A group
visits each construct with its members in order, exactly as adding them one by one would (cdktf runs a
construct's Aspects in the order they were added before moving on to its children).
"""

from __future__ import annotations

import jsii
from cdktf import IAspect

from constructs import IConstruct


@jsii.implements(IAspect)
class AspectGroup:
    def __init__(self, *members: IAspect) -> None:
        self.members = members

    def visit(self, node: IConstruct) -> None:
        for member in self.members:
            member.visit(node)

"""Where approval requests go: an encrypted SNS topic with e-mail subscriptions, or an existing topic."""

from __future__ import annotations

from awacs.aws import (
    Allow,
    ArnEquals,
    ArnNotEquals,
    Bool,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
)
from awacs.sns import Action as SnsAction
from troposphere import AWSObject, Ref
from troposphere.sns import Subscription, Topic, TopicPolicy

from generator import logical_ids
from generator.bootstrap import arns
from generator.contract.config import PipelinesConfig


def approval_topic(config: PipelinesConfig, key_arn, pipeline_role_arn) -> tuple[object, list[AWSObject]]:
    """The topic ARN the approval actions notify, and the resources to add (none for an existing topic)."""
    if config.notifications.topic_arn:
        return config.notifications.topic_arn, []
    topic = Topic(logical_ids.TOPIC, DisplayName=f"changegate {config.project} approvals",
                  KmsMasterKeyId=key_arn)
    if config.notifications.emails:
        # Each address confirms its subscription by e-mail once.
        topic.Subscription = [Subscription(Protocol="email", Endpoint=email)
                              for email in config.notifications.emails]
    policy = TopicPolicy(logical_ids.TOPIC_POLICY, Topics=[Ref(topic)], PolicyDocument=PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(Sid="PipelinesPublish", Effect=Allow,
                      Principal=Principal("AWS", arns.account_root()),
                      Action=[SnsAction("Publish")], Resource=[Ref(topic)],
                      Condition=Condition(ArnEquals("aws:PrincipalArn", pipeline_role_arn))),
            # Threat: a forged approval request (a message that looks like changegate's, with a
            # link of the sender's choosing). Only the pipelines publish, whatever IAM policies
            # other principals hold, and whether or not the guardrail is attached.
            Statement(Sid="OnlyThePipelinesPublish", Effect=Deny, Principal=Principal("*"),
                      Action=[SnsAction("Publish")], Resource=[Ref(topic)],
                      Condition=Condition(ArnNotEquals("aws:PrincipalArn", pipeline_role_arn))),
            Statement(Sid="DenyInsecureTransport", Effect=Deny, Principal=Principal("*"),
                      Action=[SnsAction("Publish")], Resource=[Ref(topic)],
                      Condition=Condition(Bool("aws:SecureTransport", False))),
        ]))
    return Ref(topic), [topic, policy]

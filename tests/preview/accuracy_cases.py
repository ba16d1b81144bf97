"""Pairs of templates whose real outcome the AWS documentation states.

Each case cites the property page whose "Update requires" line decides it (CloudFormation
template reference; the same text is in github.com/awsdocs/aws-cloudformation-user-guide,
doc_source/). ``expected`` names every resource of the pair: (action, replacement) for the
ones that change, None for the ones that must not be reported at all.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

DOCS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"


@dataclass(frozen=True)
class Case:
    name: str
    doc: str
    old: dict
    new: dict
    expected: dict
    old_parameters: dict = field(default_factory=dict)
    new_parameters: dict = field(default_factory=dict)


def template(resources: dict, parameters: dict | None = None, conditions: dict | None = None,
             mappings: dict | None = None) -> dict:
    body: dict = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    if parameters:
        body["Parameters"] = parameters
    if conditions:
        body["Conditions"] = conditions
    if mappings:
        body["Mappings"] = mappings
    return body


def res(resource_type: str, **properties) -> dict:
    return {"Type": resource_type, "Properties": properties}


def changed(base: dict, edit) -> dict:
    new = copy.deepcopy(base)
    edit(new)
    return new


def props(t: dict, logical_id: str) -> dict:
    return t["Resources"][logical_id]["Properties"]


# -- building blocks ------------------------------------------------------------------
BUCKET = template({"Data": res("AWS::S3::Bucket", BucketName="acme-data",
                               VersioningConfiguration={"Status": "Suspended"})})
QUEUE = template({"Jobs": res("AWS::SQS::Queue", VisibilityTimeout=30)})
NETWORK = template({
    "Vpc": res("AWS::EC2::VPC", CidrBlock={"Ref": "VpcCidr"}, EnableDnsHostnames=True),
    "Subnet": res("AWS::EC2::Subnet", VpcId={"Ref": "Vpc"}, CidrBlock="10.0.0.0/24",
                  MapPublicIpOnLaunch=False),
    "Group": res("AWS::EC2::SecurityGroup", GroupDescription="web", VpcId={"Ref": "Vpc"},
                 SecurityGroupIngress=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                        "CidrIp": "10.0.0.0/8"}]),
    "Targets": res("AWS::ElasticLoadBalancingV2::TargetGroup", Port=8080, Protocol="HTTP",
                   TargetType="ip", VpcId={"Ref": "Vpc"}, HealthCheckPath="/health"),
}, parameters={"VpcCidr": {"Type": "String", "Default": "10.0.0.0/16"}})
TASK = template({
    "Task": res("AWS::ECS::TaskDefinition", Family="web", Cpu="512", Memory="1024",
                ContainerDefinitions=[{"Name": "app", "Image": "repo/web:1", "Essential": True,
                                       "Environment": [{"Name": "MODE", "Value": "prod"}]}]),
    "Service": res("AWS::ECS::Service", Cluster="main", LaunchType="FARGATE",
                   DesiredCount={"Ref": "Count"}, TaskDefinition={"Ref": "Task"},
                   NetworkConfiguration={"AwsvpcConfiguration": {
                       "Subnets": {"Ref": "Subnets"}, "AssignPublicIp": "DISABLED"}}),
}, parameters={"Count": {"Type": "Number", "Default": 2},
               "Subnets": {"Type": "CommaDelimitedList", "Default": "subnet-1,subnet-2"}})
ROLE = template({"Role": res(
    "AWS::IAM::Role", RoleName="app-role",
    AssumeRolePolicyDocument={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
         "Action": "sts:AssumeRole"}]})})
TABLE = template({"Table": res(
    "AWS::DynamoDB::Table", BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                          {"AttributeName": "sk", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])})
FUNCTION = template({"Fn": res(
    "AWS::Lambda::Function", FunctionName={"Fn::Sub": "${Env}-handler"}, Runtime="python3.12",
    Handler="app.handler", Role="arn:aws:iam::111122223333:role/fn", Timeout=10,
    Code={"ZipFile": "def handler(e, c): pass"})},
    parameters={"Env": {"Type": "String", "Default": "dev"}})
DATABASE = template({"Db": {
    "Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot",
    "UpdateReplacePolicy": "Snapshot",
    "Properties": {"Engine": "postgres", "DBInstanceClass": "db.t4g.micro",
                   "AllocatedStorage": {"Ref": "Storage"}, "MasterUsername": "admin",
                   "ManageMasterUserPassword": True,
                   "MultiAZ": {"Fn::If": ["IsProd", True, False]}}}},
    parameters={"Storage": {"Type": "Number", "Default": 20},
                "Env": {"Type": "String", "Default": "dev"}},
    conditions={"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}})
KEY = template({"Key": res("AWS::KMS::Key", KeySpec="SYMMETRIC_DEFAULT",
                           EnableKeyRotation=False,
                           KeyPolicy={"Version": "2012-10-17", "Statement": [
                               {"Effect": "Allow",
                                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                                "Action": "kms:*", "Resource": "*"}]})})
LOGS = template({"Logs": res("AWS::Logs::LogGroup", LogGroupName="/app", RetentionInDays=30)})
ALARM = template({"Alarm": res(
    "AWS::CloudWatch::Alarm", Namespace="AWS/RDS", MetricName="CPUUtilization",
    Statistic="Average", Period=300, EvaluationPeriods=3, Threshold={"Ref": "Threshold"},
    ComparisonOperator="GreaterThanThreshold")},
    parameters={"Threshold": {"Type": "Number", "Default": 80}})
ZONES = template({"Subnet": res(
    "AWS::EC2::Subnet", VpcId="vpc-0123456789abcdef0", CidrBlock="10.0.1.0/24",
    AvailabilityZone={"Fn::FindInMap": ["Zones", {"Ref": "Env"}, "Primary"]})},
    parameters={"Env": {"Type": "String", "Default": "dev"}},
    mappings={"Zones": {"dev": {"Primary": "eu-west-1a"}, "staging": {"Primary": "eu-west-1a"},
                        "prod": {"Primary": "eu-west-1b"}}})
REPOSITORY = template({"Repo": res("AWS::ECR::Repository", ImageTagMutability="MUTABLE")})
FILESYSTEM = template({"Files": res("AWS::EFS::FileSystem", Encrypted=False,
                                    ThroughputMode="bursting")})
TOPIC = template({"Topic": res("AWS::SNS::Topic", TopicName="alerts", DisplayName="Alerts")})
INGRESS = template({"Rule": res("AWS::EC2::SecurityGroupIngress", GroupId="sg-0123456789abcdef0",
                                IpProtocol="tcp", FromPort=5432, ToPort=5432,
                                CidrIp="10.0.0.0/16", Description="db")})
CLUSTER = template({"Cluster": res("AWS::ECS::Cluster", ClusterName="main",
                                   ClusterSettings=[{"Name": "containerInsights",
                                                     "Value": "disabled"}])})
INSTANCE = template({"Host": res("AWS::EC2::Instance", ImageId="ami-0123456789abcdef0",
                                 InstanceType="t3.micro", SubnetId="subnet-0123456789abcdef0")})
NAMED_BUCKET = template({"Data": res("AWS::S3::Bucket", BucketName={
    "Fn::If": ["Named", "acme-data", {"Ref": "AWS::NoValue"}]})},
    parameters={"UseName": {"Type": "String", "Default": "no"}},
    conditions={"Named": {"Fn::Equals": [{"Ref": "UseName"}, "yes"]}})
LISTENER = template({
    "Vpc": res("AWS::EC2::VPC", CidrBlock="10.0.0.0/16"),
    "Targets": res("AWS::ElasticLoadBalancingV2::TargetGroup", Port=80, Protocol="HTTP",
                   VpcId={"Ref": "Vpc"}),
    "Listener": res("AWS::ElasticLoadBalancingV2::Listener",
                    LoadBalancerArn="arn:aws:elasticloadbalancing:eu-west-1:111122223333:"
                                    "loadbalancer/app/web/0123456789abcdef",
                    Port=80, Protocol="HTTP",
                    DefaultActions=[{"Type": "forward", "TargetGroupArn": {"Ref": "Targets"}}]),
})


def _set(path: list, value):
    def edit(t):
        node = t["Resources"]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return edit


def _del(path: list):
    def edit(t):
        node = t["Resources"]
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return edit


MOD_T = ("Modify", "True")
MOD_F = ("Modify", "False")

CASES = [
    Case("s3 BucketName", DOCS + "aws-resource-s3-bucket.html#cfn-s3-bucket-bucketname",
         BUCKET, changed(BUCKET, _set(["Data", "Properties", "BucketName"], "acme-data-2")),
         {"Data": MOD_T}),
    Case("s3 VersioningConfiguration.Status (nested)",
         DOCS + "aws-properties-s3-bucket-versioningconfiguration.html"
                "#cfn-s3-bucket-versioningconfiguration-status",
         BUCKET, changed(BUCKET, _set(["Data", "Properties", "VersioningConfiguration",
                                       "Status"], "Enabled")), {"Data": MOD_F}),
    Case("s3 ObjectLockEnabled (docs over schema)",
         DOCS + "aws-resource-s3-bucket.html#cfn-s3-bucket-objectlockenabled",
         BUCKET, changed(BUCKET, _set(["Data", "Properties", "ObjectLockEnabled"], True)),
         {"Data": MOD_T}),
    Case("sqs VisibilityTimeout", DOCS + "aws-resource-sqs-queue.html#cfn-sqs-queue-visibilitytimeout",
         QUEUE, changed(QUEUE, _set(["Jobs", "Properties", "VisibilityTimeout"], 60)),
         {"Jobs": MOD_F}),
    Case("sqs FifoQueue added", DOCS + "aws-resource-sqs-queue.html#cfn-sqs-queue-fifoqueue",
         QUEUE, changed(QUEUE, _set(["Jobs", "Properties", "FifoQueue"], True)),
         {"Jobs": MOD_T}),
    Case("subnet CidrBlock", DOCS + "aws-resource-ec2-subnet.html#cfn-ec2-subnet-cidrblock",
         NETWORK, changed(NETWORK, _set(["Subnet", "Properties", "CidrBlock"], "10.0.1.0/24")),
         {"Subnet": MOD_T, "Vpc": None, "Group": None, "Targets": None}),
    Case("subnet MapPublicIpOnLaunch",
         DOCS + "aws-resource-ec2-subnet.html#cfn-ec2-subnet-mappubliciponlaunch",
         NETWORK, changed(NETWORK, _set(["Subnet", "Properties", "MapPublicIpOnLaunch"], True)),
         {"Subnet": MOD_F, "Vpc": None, "Group": None, "Targets": None}),
    Case("security group GroupDescription",
         DOCS + "aws-resource-ec2-securitygroup.html#cfn-ec2-securitygroup-groupdescription",
         NETWORK, changed(NETWORK, _set(["Group", "Properties", "GroupDescription"], "web tier")),
         {"Group": MOD_T, "Vpc": None, "Subnet": None, "Targets": None}),
    Case("security group ingress list element",
         DOCS + "aws-resource-ec2-securitygroup.html#cfn-ec2-securitygroup-securitygroupingress",
         NETWORK, changed(NETWORK, _set(["Group", "Properties", "SecurityGroupIngress", 0,
                                         "CidrIp"], "10.1.0.0/16")),
         {"Group": MOD_F, "Vpc": None, "Subnet": None, "Targets": None}),
    Case("vpc CidrBlock via parameter, dependants replaced",
         DOCS + "aws-resource-ec2-vpc.html#cfn-ec2-vpc-cidrblock; "
         + DOCS + "aws-resource-ec2-subnet.html#cfn-ec2-subnet-vpcid; "
         + DOCS + "aws-resource-ec2-securitygroup.html#cfn-ec2-securitygroup-vpcid; "
         + DOCS + "aws-resource-elasticloadbalancingv2-targetgroup.html"
                  "#cfn-elasticloadbalancingv2-targetgroup-vpcid",
         NETWORK, NETWORK, {"Vpc": MOD_T, "Subnet": MOD_T, "Group": MOD_T, "Targets": MOD_T},
         new_parameters={"VpcCidr": "10.9.0.0/16"}),
    Case("vpc EnableDnsHostnames", DOCS + "aws-resource-ec2-vpc.html#cfn-ec2-vpc-enablednshostnames",
         NETWORK, changed(NETWORK, _set(["Vpc", "Properties", "EnableDnsHostnames"], False)),
         {"Vpc": MOD_F, "Subnet": None, "Group": None, "Targets": None}),
    Case("target group HealthCheckPath",
         DOCS + "aws-resource-elasticloadbalancingv2-targetgroup.html"
                "#cfn-elasticloadbalancingv2-targetgroup-healthcheckpath",
         NETWORK, changed(NETWORK, _set(["Targets", "Properties", "HealthCheckPath"], "/ready")),
         {"Targets": MOD_F, "Vpc": None, "Subnet": None, "Group": None}),
    Case("target group Port", DOCS + "aws-resource-elasticloadbalancingv2-targetgroup.html"
                                     "#cfn-elasticloadbalancingv2-targetgroup-port",
         NETWORK, changed(NETWORK, _set(["Targets", "Properties", "Port"], 8081)),
         {"Targets": MOD_T, "Vpc": None, "Subnet": None, "Group": None}),
    Case("task definition container image (list element), service follows",
         DOCS + "aws-properties-ecs-taskdefinition-containerdefinition.html"
                "#cfn-ecs-taskdefinition-containerdefinition-image; "
         + DOCS + "aws-resource-ecs-service.html#cfn-ecs-service-taskdefinition",
         TASK, changed(TASK, _set(["Task", "Properties", "ContainerDefinitions", 0, "Image"],
                                  "repo/web:2")),
         {"Task": MOD_T, "Service": MOD_F}),
    Case("task definition environment entry added (nested list)",
         DOCS + "aws-properties-ecs-taskdefinition-containerdefinition.html"
                "#cfn-ecs-taskdefinition-containerdefinition-environment",
         TASK, changed(TASK, lambda t: props(t, "Task")["ContainerDefinitions"][0][
             "Environment"].append({"Name": "DEBUG", "Value": "0"})),
         {"Task": MOD_T, "Service": MOD_F}),
    Case("service DesiredCount from the stack config",
         DOCS + "aws-resource-ecs-service.html#cfn-ecs-service-desiredcount",
         TASK, TASK, {"Service": MOD_F, "Task": None}, new_parameters={"Count": "4"}),
    Case("service subnets from a list parameter",
         DOCS + "aws-properties-ecs-service-awsvpcconfiguration.html"
                "#cfn-ecs-service-awsvpcconfiguration-subnets",
         TASK, TASK, {"Service": MOD_F, "Task": None},
         new_parameters={"Subnets": "subnet-1,subnet-3"}),
    Case("service LaunchType (docs over schema)",
         DOCS + "aws-resource-ecs-service.html#cfn-ecs-service-launchtype",
         TASK, changed(TASK, _set(["Service", "Properties", "LaunchType"], "EC2")),
         {"Service": MOD_T, "Task": None}),
    Case("iam role trust policy", DOCS + "aws-resource-iam-role.html"
                                         "#cfn-iam-role-assumerolepolicydocument",
         ROLE, changed(ROLE, _set(["Role", "Properties", "AssumeRolePolicyDocument",
                                   "Statement", 0, "Principal", "Service"],
                                  "lambda.amazonaws.com")), {"Role": MOD_F}),
    Case("iam role RoleName", DOCS + "aws-resource-iam-role.html#cfn-iam-role-rolename",
         ROLE, changed(ROLE, _set(["Role", "Properties", "RoleName"], "app-role-2")),
         {"Role": MOD_T}),
    Case("dynamodb KeySchema (docs over schema)",
         DOCS + "aws-resource-dynamodb-table.html#cfn-dynamodb-table-keyschema",
         TABLE, changed(TABLE, lambda t: props(t, "Table")["KeySchema"].append(
             {"AttributeName": "sk", "KeyType": "RANGE"})), {"Table": MOD_T}),
    Case("dynamodb BillingMode", DOCS + "aws-resource-dynamodb-table.html"
                                        "#cfn-dynamodb-table-billingmode",
         TABLE, changed(TABLE, lambda t: props(t, "Table").update(
             BillingMode="PROVISIONED",
             ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})),
         {"Table": MOD_F}),
    Case("lambda Timeout", DOCS + "aws-resource-lambda-function.html#cfn-lambda-function-timeout",
         FUNCTION, changed(FUNCTION, _set(["Fn", "Properties", "Timeout"], 30)), {"Fn": MOD_F}),
    Case("lambda FunctionName through Fn::Sub of a parameter",
         DOCS + "aws-resource-lambda-function.html#cfn-lambda-function-functionname",
         FUNCTION, FUNCTION, {"Fn": MOD_T}, new_parameters={"Env": "prod"}),
    Case("lambda PackageType (docs over schema)",
         DOCS + "aws-resource-lambda-function.html#cfn-lambda-function-packagetype",
         FUNCTION, changed(FUNCTION, lambda t: props(t, "Fn").update(
             PackageType="Image", Code={"ImageUri": "111122223333.dkr.ecr.eu-west-1.amazonaws"
                                                    ".com/fn:1"})), {"Fn": MOD_F}),
    Case("rds Port (docs over schema)",
         DOCS + "aws-resource-rds-dbinstance.html#cfn-rds-dbinstance-port",
         DATABASE, changed(DATABASE, _set(["Db", "Properties", "Port"], 5433)), {"Db": MOD_T}),
    Case("rds DBInstanceClass", DOCS + "aws-resource-rds-dbinstance.html"
                                       "#cfn-rds-dbinstance-dbinstanceclass",
         DATABASE, changed(DATABASE, _set(["Db", "Properties", "DBInstanceClass"],
                                          "db.t4g.small")), {"Db": MOD_F}),
    Case("rds AllocatedStorage from the stack config",
         DOCS + "aws-resource-rds-dbinstance.html#cfn-rds-dbinstance-allocatedstorage",
         DATABASE, DATABASE, {"Db": MOD_F}, new_parameters={"Storage": "50"}),
    Case("rds MultiAZ through a condition",
         DOCS + "aws-resource-rds-dbinstance.html#cfn-rds-dbinstance-multiaz",
         DATABASE, DATABASE, {"Db": MOD_F}, new_parameters={"Env": "prod"}),
    Case("rds MasterUsername", DOCS + "aws-resource-rds-dbinstance.html"
                                      "#cfn-rds-dbinstance-masterusername",
         DATABASE, changed(DATABASE, _set(["Db", "Properties", "MasterUsername"], "root")),
         {"Db": MOD_T}),
    Case("s3 BucketName appears through a condition",
         DOCS + "aws-resource-s3-bucket.html#cfn-s3-bucket-bucketname",
         NAMED_BUCKET, NAMED_BUCKET, {"Data": MOD_T}, new_parameters={"UseName": "yes"}),
    Case("kms KeySpec (docs over schema)",
         DOCS + "aws-resource-kms-key.html#cfn-kms-key-keyspec",
         KEY, changed(KEY, _set(["Key", "Properties", "KeySpec"], "RSA_2048")), {"Key": MOD_T}),
    Case("kms EnableKeyRotation", DOCS + "aws-resource-kms-key.html#cfn-kms-key-enablekeyrotation",
         KEY, changed(KEY, _set(["Key", "Properties", "EnableKeyRotation"], True)),
         {"Key": MOD_F}),
    Case("log group RetentionInDays", DOCS + "aws-resource-logs-loggroup.html"
                                             "#cfn-logs-loggroup-retentionindays",
         LOGS, changed(LOGS, _set(["Logs", "Properties", "RetentionInDays"], 90)),
         {"Logs": MOD_F}),
    Case("log group LogGroupName", DOCS + "aws-resource-logs-loggroup.html"
                                          "#cfn-logs-loggroup-loggroupname",
         LOGS, changed(LOGS, _set(["Logs", "Properties", "LogGroupName"], "/app/v2")),
         {"Logs": MOD_T}),
    Case("alarm Threshold from the stack config",
         DOCS + "aws-resource-cloudwatch-alarm.html#cfn-cloudwatch-alarm-threshold",
         ALARM, ALARM, {"Alarm": MOD_F}, new_parameters={"Threshold": "75"}),
    Case("subnet AvailabilityZone through Mappings",
         DOCS + "aws-resource-ec2-subnet.html#cfn-ec2-subnet-availabilityzone",
         ZONES, ZONES, {"Subnet": MOD_T}, new_parameters={"Env": "prod"}),
    Case("Mappings give the same zone: nothing changes",
         DOCS + "aws-resource-ec2-subnet.html#cfn-ec2-subnet-availabilityzone",
         ZONES, ZONES, {"Subnet": None}, new_parameters={"Env": "staging"}),
    Case("ecr EncryptionConfiguration", DOCS + "aws-resource-ecr-repository.html"
                                               "#cfn-ecr-repository-encryptionconfiguration",
         REPOSITORY, changed(REPOSITORY, _set(["Repo", "Properties", "EncryptionConfiguration"],
                                              {"EncryptionType": "KMS"})), {"Repo": MOD_T}),
    Case("ecr ImageTagMutability", DOCS + "aws-resource-ecr-repository.html"
                                          "#cfn-ecr-repository-imagetagmutability",
         REPOSITORY, changed(REPOSITORY, _set(["Repo", "Properties", "ImageTagMutability"],
                                              "IMMUTABLE")), {"Repo": MOD_F}),
    Case("efs Encrypted", DOCS + "aws-resource-efs-filesystem.html#cfn-efs-filesystem-encrypted",
         FILESYSTEM, changed(FILESYSTEM, _set(["Files", "Properties", "Encrypted"], True)),
         {"Files": MOD_T}),
    Case("efs ThroughputMode", DOCS + "aws-resource-efs-filesystem.html"
                                      "#cfn-efs-filesystem-throughputmode",
         FILESYSTEM, changed(FILESYSTEM, _set(["Files", "Properties", "ThroughputMode"],
                                              "elastic")), {"Files": MOD_F}),
    Case("sns DisplayName", DOCS + "aws-resource-sns-topic.html#cfn-sns-topic-displayname",
         TOPIC, changed(TOPIC, _set(["Topic", "Properties", "DisplayName"], "Pager")),
         {"Topic": MOD_F}),
    Case("sns TopicName", DOCS + "aws-resource-sns-topic.html#cfn-sns-topic-topicname",
         TOPIC, changed(TOPIC, _set(["Topic", "Properties", "TopicName"], "pager")),
         {"Topic": MOD_T}),
    Case("security group ingress resource FromPort",
         DOCS + "aws-resource-ec2-securitygroupingress.html"
                "#cfn-ec2-securitygroupingress-fromport",
         INGRESS, changed(INGRESS, lambda t: props(t, "Rule").update(FromPort=5433,
                                                                     ToPort=5433)),
         {"Rule": MOD_T}),
    Case("security group ingress resource Description",
         DOCS + "aws-resource-ec2-securitygroupingress.html"
                "#cfn-ec2-securitygroupingress-description",
         INGRESS, changed(INGRESS, _set(["Rule", "Properties", "Description"], "postgres")),
         {"Rule": MOD_F}),
    Case("ecs cluster ClusterSettings", DOCS + "aws-resource-ecs-cluster.html"
                                               "#cfn-ecs-cluster-clustersettings",
         CLUSTER, changed(CLUSTER, _set(["Cluster", "Properties", "ClusterSettings", 0,
                                         "Value"], "enabled")), {"Cluster": MOD_F}),
    Case("ecs cluster ClusterName", DOCS + "aws-resource-ecs-cluster.html"
                                           "#cfn-ecs-cluster-clustername",
         CLUSTER, changed(CLUSTER, _set(["Cluster", "Properties", "ClusterName"], "main-2")),
         {"Cluster": MOD_T}),
    Case("ec2 instance InstanceType", DOCS + "aws-resource-ec2-instance.html"
                                             "#cfn-ec2-instance-instancetype",
         INSTANCE, changed(INSTANCE, _set(["Host", "Properties", "InstanceType"], "t3.small")),
         {"Host": MOD_F}),
    Case("ec2 instance ImageId", DOCS + "aws-resource-ec2-instance.html#cfn-ec2-instance-imageid",
         INSTANCE, changed(INSTANCE, _set(["Host", "Properties", "ImageId"],
                                          "ami-0fedcba9876543210")), {"Host": MOD_T}),
    Case("replaced target group: the listener is updated, not replaced",
         DOCS + "aws-resource-elasticloadbalancingv2-listener.html"
                "#cfn-elasticloadbalancingv2-listener-defaultactions",
         LISTENER, changed(LISTENER, _set(["Vpc", "Properties", "CidrBlock"], "10.1.0.0/16")),
         {"Vpc": MOD_T, "Targets": MOD_T, "Listener": MOD_F}),
    Case("renamed logical id: a new bucket, the old one deleted",
         DOCS + "aws-resource-s3-bucket.html#cfn-s3-bucket-bucketname",
         BUCKET, template({"Archive": BUCKET["Resources"]["Data"]}),
         {"Data": ("Remove", None), "Archive": ("Add", None)}),
    Case("no-op reformatting: Fn::Join for Fn::Sub, numbers for strings, key order",
         DOCS + "aws-resource-lambda-function.html#cfn-lambda-function-functionname",
         FUNCTION, changed(FUNCTION, lambda t: t["Resources"].update(Fn={
             "Properties": dict(reversed(list({
                 **props(t, "Fn"),
                 "FunctionName": {"Fn::Join": ["", [{"Ref": "Env"}, "-handler"]]},
                 "Timeout": "10"}.items()))),
             "Type": "AWS::Lambda::Function"})), {"Fn": None}),
    Case("a resource whose condition turns false is removed",
         DOCS + "aws-resource-s3-bucket.html",
         NAMED_BUCKET, changed(NAMED_BUCKET, lambda t: t["Resources"]["Data"].update(
             Condition="Named")), {"Data": ("Remove", None)}),
]

"""Glue (Database, Job, Crawler, Trigger, SecurityConfiguration), Athena WorkGroup and
Lake Formation (DataLakeSettings, Resource, Permissions, PrincipalPermissions).

Where the local control plane has no Update* operation (moto: Glue UpdateJob/UpdateCrawler/
UpdateTrigger, Athena UpdateWorkGroup) the in-place update is done as delete + create under
the same name: the definition read back afterwards is exactly what an update would give.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from lakekit.local.cloudformation.resources.base import (
    Created,
    ProvisionContext,
    Provisioner,
    ResourceFailure,
    error_code,
    failing_as,
    is_not_implemented,
    provisioner,
    tags_list,
)
from lakekit.local.cloudformation.resources.lf_principals import check_principals

__all__ = ["Database", "Job", "Crawler", "Trigger", "SecurityConfiguration", "WorkGroup",
           "DataLakeSettings", "LakeResource", "Permissions", "PrincipalPermissions"]


def _update_or_recreate(update: Callable[[], Any], recreate: Callable[[], Any], prop: str | None,
                        service: str) -> None:
    try:
        update()
    except ClientError as exc:
        if not is_not_implemented(exc):
            with failing_as(prop, service):
                raise
        with failing_as(prop, service):
            recreate()


def _ignore_missing(fn: Callable[[], Any], service: str, codes: tuple[str, ...] = ("EntityNotFoundException",)) -> None:
    try:
        fn()
    except ClientError as exc:
        if error_code(exc) not in codes:
            with failing_as(None, service):
                raise


# ---------------------------------------------------------------- Glue
@provisioner
class Database(Provisioner):
    type = "AWS::Glue::Database"
    supported = frozenset({"CatalogId", "DatabaseInput", "DatabaseName"})
    required = frozenset({"CatalogId", "DatabaseInput"})
    also_replace = frozenset({"CatalogId"})

    def replacement_reasons(self, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
        out = super().replacement_reasons(old, new)
        if (old.get("DatabaseInput") or {}).get("Name") != (new.get("DatabaseInput") or {}).get("Name"):
            out.append("DatabaseInput.Name")
        return out

    @staticmethod
    def _input(props: dict[str, Any]) -> dict[str, Any]:
        di = dict(props.get("DatabaseInput") or {})
        if props.get("DatabaseName") and not di.get("Name"):
            di["Name"] = props["DatabaseName"]
        return di

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        di = self._input(props)
        if not di.get("Name"):
            di["Name"] = ctx.physical_name(logical, 255, lower=True, sep="_").replace("-", "_")
        with failing_as("DatabaseInput", "Glue"):
            ctx.client("glue").create_database(CatalogId=str(props["CatalogId"]), DatabaseInput=di)
        return Created(di["Name"], {})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        di = self._input(new)
        di["Name"] = physical_id
        with failing_as("DatabaseInput", "Glue"):
            ctx.client("glue").update_database(CatalogId=str(new["CatalogId"]), Name=physical_id, DatabaseInput=di)
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        _ignore_missing(lambda: ctx.client("glue").delete_database(
            CatalogId=str(props["CatalogId"]), Name=physical_id), "Glue")


_JOB_KEYS = ("Role", "Command", "DefaultArguments", "NonOverridableArguments", "Description",
             "GlueVersion", "WorkerType", "NumberOfWorkers", "MaxRetries", "Timeout",
             "ExecutionProperty", "SecurityConfiguration", "MaxCapacity", "Connections",
             "ExecutionClass", "LogUri", "NotificationProperty")


def _job_args(props: dict[str, Any]) -> dict[str, Any]:
    out = {k: props[k] for k in _JOB_KEYS if k in props}
    for k in ("NumberOfWorkers", "MaxRetries", "Timeout"):
        if k in out:
            out[k] = int(out[k])
    if "MaxCapacity" in out:
        out["MaxCapacity"] = float(out["MaxCapacity"])
    if "ExecutionProperty" in out:
        out["ExecutionProperty"] = {k: int(v) for k, v in out["ExecutionProperty"].items()}
    if "DefaultArguments" in out:
        out["DefaultArguments"] = {k: str(v) for k, v in out["DefaultArguments"].items()}
    return out


@provisioner
class Job(Provisioner):
    type = "AWS::Glue::Job"
    supported = frozenset({"Name", "Tags", *_JOB_KEYS})
    required = frozenset({"Role", "Command"})

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        name = props.get("Name") or ctx.physical_name(logical, 255)
        tags = props.get("Tags") or {}
        with failing_as("Command" if "Command" in props else None, "Glue"):
            ctx.client("glue").create_job(Name=name, Tags=dict(tags), **_job_args(props))
        return Created(name, {})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        glue = ctx.client("glue")

        def recreate() -> None:
            glue.delete_job(JobName=physical_id)
            glue.create_job(Name=physical_id, Tags=dict(new.get("Tags") or {}), **_job_args(new))

        _update_or_recreate(lambda: glue.update_job(JobName=physical_id, JobUpdate=_job_args(new)),
                            recreate, None, "Glue")
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        _ignore_missing(lambda: ctx.client("glue").delete_job(JobName=physical_id), "Glue")


_CRAWLER_KEYS = ("Role", "DatabaseName", "Targets", "SchemaChangePolicy", "Description",
                 "TablePrefix", "Schedule", "Configuration", "CrawlerSecurityConfiguration",
                 "RecrawlPolicy", "Classifiers")


def _crawler_args(props: dict[str, Any]) -> dict[str, Any]:
    out = {k: props[k] for k in _CRAWLER_KEYS if k in props}
    if isinstance(out.get("Schedule"), dict):
        out["Schedule"] = out["Schedule"].get("ScheduleExpression", "")
    if isinstance(out.get("Configuration"), dict):
        out["Configuration"] = json.dumps(out["Configuration"])
    return out


@provisioner
class Crawler(Provisioner):
    type = "AWS::Glue::Crawler"
    supported = frozenset({"Name", "Tags", *_CRAWLER_KEYS})
    required = frozenset({"Role", "Targets"})

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        name = props.get("Name") or ctx.physical_name(logical, 255)
        with failing_as("Targets", "Glue"):
            ctx.client("glue").create_crawler(Name=name, Tags=dict(props.get("Tags") or {}),
                                              **_crawler_args(props))
        return Created(name, {})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        glue = ctx.client("glue")

        def recreate() -> None:
            glue.delete_crawler(Name=physical_id)
            glue.create_crawler(Name=physical_id, Tags=dict(new.get("Tags") or {}), **_crawler_args(new))

        _update_or_recreate(lambda: glue.update_crawler(Name=physical_id, **_crawler_args(new)),
                            recreate, None, "Glue")
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        _ignore_missing(lambda: ctx.client("glue").delete_crawler(Name=physical_id), "Glue")


def _trigger_args(props: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: props[k] for k in ("Type", "Actions", "Predicate", "Schedule",
                                                   "Description", "WorkflowName") if k in props}
    if out.get("Predicate", {}).get("Conditions") and "Logical" not in out["Predicate"]:
        out["Predicate"] = {**out["Predicate"], "Logical": "AND"}  # AWS's default
    return out


@provisioner
class Trigger(Provisioner):
    type = "AWS::Glue::Trigger"
    supported = frozenset({"Name", "Type", "Actions", "Predicate", "Schedule", "Description",
                           "WorkflowName", "StartOnCreation", "Tags"})
    required = frozenset({"Type", "Actions"})

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        name = props.get("Name") or ctx.physical_name(logical, 255)
        with failing_as("Predicate" if props.get("Type") == "CONDITIONAL" else "Actions", "Glue"):
            ctx.client("glue").create_trigger(Name=name, StartOnCreation=bool(props.get("StartOnCreation", False)),
                                              Tags=dict(props.get("Tags") or {}), **_trigger_args(props))
        return Created(name, {})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        glue = ctx.client("glue")
        upd = {k: v for k, v in _trigger_args(new).items() if k not in ("Type", "WorkflowName")}
        upd["Name"] = physical_id

        def recreate() -> None:
            glue.delete_trigger(Name=physical_id)
            glue.create_trigger(Name=physical_id, StartOnCreation=bool(new.get("StartOnCreation", False)),
                                Tags=dict(new.get("Tags") or {}), **_trigger_args(new))

        _update_or_recreate(lambda: glue.update_trigger(Name=physical_id, TriggerUpdate=upd),
                            recreate, None, "Glue")
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        _ignore_missing(lambda: ctx.client("glue").delete_trigger(Name=physical_id), "Glue")


@provisioner
class SecurityConfiguration(Provisioner):
    type = "AWS::Glue::SecurityConfiguration"
    supported = frozenset({"Name", "EncryptionConfiguration"})
    required = frozenset({"Name", "EncryptionConfiguration"})
    # There is no UpdateSecurityConfiguration: every change replaces it (AWS docs).
    also_replace = frozenset({"EncryptionConfiguration"})

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        cfg = dict(props["EncryptionConfiguration"])
        if "S3Encryptions" in cfg:  # CloudFormation's name for the API's S3Encryption list
            cfg["S3Encryption"] = cfg.pop("S3Encryptions")
        with failing_as("EncryptionConfiguration", "Glue"):
            ctx.client("glue").create_security_configuration(
                Name=props["Name"], EncryptionConfiguration=cfg)
        return Created(props["Name"], {})

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        _ignore_missing(lambda: ctx.client("glue").delete_security_configuration(Name=physical_id), "Glue")


# ---------------------------------------------------------------- Athena
def _wg_config(cfg: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(cfg))
    if "BytesScannedCutoffPerQuery" in out:
        out["BytesScannedCutoffPerQuery"] = int(out["BytesScannedCutoffPerQuery"])
    for key in ("EnforceWorkGroupConfiguration", "PublishCloudWatchMetricsEnabled", "RequesterPaysEnabled"):
        if key in out:
            out[key] = bool(out[key])
    return out


@provisioner
class WorkGroup(Provisioner):
    type = "AWS::Athena::WorkGroup"
    supported = frozenset({"Name", "Description", "State", "Tags", "WorkGroupConfiguration",
                           "RecursiveDeleteOption"})
    required = frozenset({"Name"})
    attributes = ("CreationTime",)

    def _create(self, ctx: ProvisionContext, props: dict[str, Any]) -> None:
        athena = ctx.client("athena")
        kwargs: dict[str, Any] = {"Name": props["Name"],
                                  "Configuration": _wg_config(props.get("WorkGroupConfiguration") or {})}
        if "Description" in props:
            kwargs["Description"] = props["Description"]
        if props.get("Tags"):
            kwargs["Tags"] = tags_list(props["Tags"])
        athena.create_work_group(**kwargs)
        if props.get("State", "ENABLED") == "DISABLED":
            athena.update_work_group(WorkGroup=props["Name"], State="DISABLED")

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        with failing_as("WorkGroupConfiguration", "Athena"):
            self._create(ctx, props)
            wg = ctx.client("athena").get_work_group(WorkGroup=props["Name"])["WorkGroup"]
        created = wg.get("CreationTime")
        return Created(props["Name"], {"CreationTime": str(created.timestamp() if hasattr(created, "timestamp") else created)})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        athena = ctx.client("athena")
        cfg = _wg_config(new.get("WorkGroupConfiguration") or {})
        updates: dict[str, Any] = {k: v for k, v in cfg.items() if k != "EngineVersion"}
        if "BytesScannedCutoffPerQuery" not in cfg and "BytesScannedCutoffPerQuery" in (old.get("WorkGroupConfiguration") or {}):
            updates["RemoveBytesScannedCutoffPerQuery"] = True
        if "ResultConfiguration" in updates:
            updates["ResultConfigurationUpdates"] = updates.pop("ResultConfiguration")

        def recreate() -> None:
            athena.delete_work_group(WorkGroup=physical_id, RecursiveDeleteOption=True)
            self._create(ctx, new)

        _update_or_recreate(
            lambda: athena.update_work_group(WorkGroup=physical_id, Description=new.get("Description", ""),
                                             ConfigurationUpdates=updates, State=new.get("State", "ENABLED")),
            recreate, "WorkGroupConfiguration", "Athena")
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        _ignore_missing(lambda: ctx.client("athena").delete_work_group(
            WorkGroup=physical_id, RecursiveDeleteOption=bool(props.get("RecursiveDeleteOption", False))),
            "Athena", ("InvalidRequestException", "ResourceNotFoundException"))


# ---------------------------------------------------------------- Lake Formation
_SETTINGS_KEYS = ("CreateDatabaseDefaultPermissions", "CreateTableDefaultPermissions",
                  "TrustedResourceOwners", "Parameters", "ReadOnlyAdmins", "AllowExternalDataFiltering",
                  "AllowFullTableExternalDataAccess", "ExternalDataFilteringAllowList",
                  "AuthorizedSessionTagValueList")


@provisioner
class DataLakeSettings(Provisioner):
    type = "AWS::LakeFormation::DataLakeSettings"
    supported = frozenset({"Admins", "MutationType", *_SETTINGS_KEYS})

    @staticmethod
    def _current(ctx: ProvisionContext) -> dict[str, Any]:
        try:
            return ctx.client("lakeformation").get_data_lake_settings()["DataLakeSettings"]
        except ClientError:
            return {}

    def _apply(self, ctx: ProvisionContext, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        current = self._current(ctx)
        admins = [a for a in current.get("DataLakeAdmins", [])
                  if a not in (old.get("Admins") or [])]
        wanted = list(new.get("Admins") or [])
        if new.get("MutationType", "REPLACE") == "REPLACE":
            admins = wanted
        else:
            admins += [a for a in wanted if a not in admins]
        settings = {k: v for k, v in current.items()}
        settings["DataLakeAdmins"] = admins
        for key in _SETTINGS_KEYS:
            if key in new:
                settings["Parameters" if key == "Parameters" else key] = new[key]
        if isinstance(settings.get("Parameters"), dict):
            settings["Parameters"] = {k: str(v) for k, v in settings["Parameters"].items()}
        # Lake Formation resolves every principal of the settings it is given (the ones already
        # there too: a deleted admin role makes any PutDataLakeSettings fail)
        check_principals(ctx.service_client("iam"), ctx.account_id,
                         [a.get("DataLakePrincipalIdentifier", "") for a in admins], "Admins")
        check_principals(ctx.service_client("iam"), ctx.account_id,
                         [a.get("DataLakePrincipalIdentifier", "") for a in settings.get("ReadOnlyAdmins") or []],
                         "ReadOnlyAdmins")
        with failing_as("Admins", "LakeFormation"):
            ctx.client("lakeformation").put_data_lake_settings(DataLakeSettings=settings)
        return settings

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        self._apply(ctx, {}, props)
        return Created(f"{ctx.stack_name}-{logical}", {})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        self._apply(ctx, old, new)
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        current = self._current(ctx)
        if not current:
            return
        mine = props.get("Admins") or []
        current["DataLakeAdmins"] = [a for a in current.get("DataLakeAdmins", []) if a not in mine]
        with failing_as("Admins", "LakeFormation"):
            ctx.client("lakeformation").put_data_lake_settings(DataLakeSettings=current)


@provisioner
class LakeResource(Provisioner):
    type = "AWS::LakeFormation::Resource"
    supported = frozenset({"ResourceArn", "UseServiceLinkedRole", "RoleArn", "WithFederation",
                           "HybridAccessEnabled"})
    required = frozenset({"ResourceArn", "UseServiceLinkedRole"})

    @staticmethod
    def _args(props: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"ResourceArn": props["ResourceArn"],
                               "UseServiceLinkedRole": bool(props.get("UseServiceLinkedRole", False))}
        if props.get("RoleArn"):
            out["RoleArn"] = props["RoleArn"]
        for key in ("WithFederation", "HybridAccessEnabled"):
            if key in props:
                out[key] = bool(props[key])
        return out

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        with failing_as("ResourceArn", "LakeFormation"):
            ctx.client("lakeformation").register_resource(**self._args(props))
        return Created(f"{props['ResourceArn']}|{ctx.stack_name}-{logical}", {})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        lf = ctx.client("lakeformation")

        def recreate() -> None:
            lf.deregister_resource(ResourceArn=new["ResourceArn"])
            lf.register_resource(**self._args(new))

        args = self._args(new)
        _update_or_recreate(lambda: lf.update_resource(RoleArn=args.get("RoleArn", ""), ResourceArn=args["ResourceArn"]),
                            recreate, "RoleArn", "LakeFormation")
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        _ignore_missing(lambda: ctx.client("lakeformation").deregister_resource(
            ResourceArn=props["ResourceArn"]), "LakeFormation")


def _lf_resource(res: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's AWS::LakeFormation::Permissions Resource -> the API's Resource."""
    if "DatabaseResource" in res:
        return {"Database": dict(res["DatabaseResource"])}
    if "TableResource" in res:
        t = dict(res["TableResource"])
        if "TableWildcard" in t:
            t.pop("Name", None)
        return {"Table": t}
    if "TableWithColumnsResource" in res:
        return {"TableWithColumns": dict(res["TableWithColumnsResource"])}
    if "DataLocationResource" in res:
        d = res["DataLocationResource"]
        out = {"ResourceArn": d["S3Resource"]}
        if "CatalogId" in d:
            out["CatalogId"] = d["CatalogId"]
        return {"DataLocation": out}
    raise ResourceFailure("Property Resource: give DatabaseResource, TableResource, "
                          "TableWithColumnsResource or DataLocationResource.")


def _catalog_ids(resource: dict[str, Any]) -> dict[str, Any]:
    ids = ("CatalogId", "TableCatalogId")
    return {k: ({kk: (str(vv) if kk in ids else vv) for kk, vv in v.items()} if isinstance(v, dict) else v)
            for k, v in resource.items()}


class _GrantBase(Provisioner):
    def _grant(self, ctx: ProvisionContext, principal: str, resource: dict[str, Any],
               perms: list[str], grant: list[str], prop: str = "Principal") -> None:
        check_principals(ctx.service_client("iam"), ctx.account_id, [principal], prop)
        with failing_as("Permissions", "LakeFormation"):
            ctx.client("lakeformation").grant_permissions(
                Principal={"DataLakePrincipalIdentifier": principal}, Resource=_catalog_ids(resource),
                Permissions=perms, PermissionsWithGrantOption=grant)

    def _revoke(self, ctx: ProvisionContext, principal: str, resource: dict[str, Any],
                perms: list[str], grant: list[str]) -> None:
        try:
            ctx.client("lakeformation").revoke_permissions(
                Principal={"DataLakePrincipalIdentifier": principal}, Resource=_catalog_ids(resource),
                Permissions=perms, PermissionsWithGrantOption=grant)
        except ClientError as exc:
            if error_code(exc) not in ("EntityNotFoundException", "InvalidInputException"):
                with failing_as("Permissions", "LakeFormation"):
                    raise


@provisioner
class Permissions(_GrantBase):
    type = "AWS::LakeFormation::Permissions"
    supported = frozenset({"DataLakePrincipal", "Resource", "Permissions", "PermissionsWithGrantOption"})
    required = frozenset({"DataLakePrincipal", "Resource"})

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        principal = props["DataLakePrincipal"]["DataLakePrincipalIdentifier"]
        self._grant(ctx, principal, _lf_resource(props["Resource"]), list(props.get("Permissions") or []),
                    list(props.get("PermissionsWithGrantOption") or []), "DataLakePrincipal")
        return Created(f"{ctx.stack_name}-{logical}", {})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        principal = new["DataLakePrincipal"]["DataLakePrincipalIdentifier"]
        resource = _lf_resource(new["Resource"])
        self._revoke(ctx, principal, resource, list(old.get("Permissions") or []),
                     list(old.get("PermissionsWithGrantOption") or []))
        self._grant(ctx, principal, resource, list(new.get("Permissions") or []),
                    list(new.get("PermissionsWithGrantOption") or []), "DataLakePrincipal")
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        self._revoke(ctx, props["DataLakePrincipal"]["DataLakePrincipalIdentifier"],
                     _lf_resource(props["Resource"]), list(props.get("Permissions") or []),
                     list(props.get("PermissionsWithGrantOption") or []))


@provisioner
class PrincipalPermissions(_GrantBase):
    type = "AWS::LakeFormation::PrincipalPermissions"
    supported = frozenset({"Catalog", "Principal", "Resource", "Permissions", "PermissionsWithGrantOption"})
    required = frozenset({"Principal", "Resource", "Permissions", "PermissionsWithGrantOption"})
    attributes = ("PrincipalIdentifier", "ResourceIdentifier")

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        principal = props["Principal"]["DataLakePrincipalIdentifier"]
        self._grant(ctx, principal, props["Resource"], list(props["Permissions"]),
                    list(props.get("PermissionsWithGrantOption") or []))
        resource_id = json.dumps(props["Resource"], sort_keys=True)
        return Created(f"{principal}|{resource_id}",
                       {"PrincipalIdentifier": principal, "ResourceIdentifier": resource_id})

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        self._revoke(ctx, props["Principal"]["DataLakePrincipalIdentifier"], props["Resource"],
                     list(props["Permissions"]), list(props.get("PermissionsWithGrantOption") or []))
